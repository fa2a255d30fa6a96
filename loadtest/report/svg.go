package report

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// Plot geometry (SVG user units).
const (
	plotW, plotH                         = 720, 320
	padLeft, padRight, padTop, padBottom = 64, 150, 30, 44
)

var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"}

// XY is one data point.
type XY struct{ X, Y float64 }

// Series is one named line.
type Series struct {
	Name   string
	Points []XY
}

// axis maps data values to pixels, linearly or on a log10 scale.
type axis struct {
	lo, hi float64
	log    bool
	pixLo  float64
	pixHi  float64
}

func (a axis) pos(v float64) float64 {
	lo, hi := a.lo, a.hi
	if a.log {
		v, lo, hi = math.Log10(math.Max(v, a.lo)), math.Log10(lo), math.Log10(hi)
	}
	if hi == lo {
		return a.pixLo
	}
	return a.pixLo + (v-lo)/(hi-lo)*(a.pixHi-a.pixLo)
}

// ticks returns 1-2-5 ticks for log axes and about five round ticks for linear ones.
func (a axis) ticks() []float64 {
	var out []float64
	if a.log {
		for e := math.Floor(math.Log10(a.lo)); e <= math.Ceil(math.Log10(a.hi)); e++ {
			for _, m := range []float64{1, 2, 5} {
				if v := m * math.Pow(10, e); v >= a.lo*0.999 && v <= a.hi*1.001 {
					out = append(out, v)
				}
			}
		}
		return out
	}
	step := niceStep((a.hi - a.lo) / 5)
	for v := math.Ceil(a.lo/step) * step; v <= a.hi+step*1e-9; v += step {
		out = append(out, v)
	}
	return out
}

func niceStep(raw float64) float64 {
	if raw <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

func fmtTick(v float64) string {
	switch {
	case v == 0:
		return "0"
	case math.Abs(v) >= 100 || v == math.Trunc(v):
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 1:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2g", v)
	}
}

// LineChart draws series as polylines (step=true draws a staircase, for CDFs).
func LineChart(title, xLabel, yLabel string, series []Series, logX, step bool) string {
	xs, ys := bounds(series)
	if logX && xs.lo <= 0 {
		xs.lo = math.Max(minPositiveX(series), 1e-3)
	}
	if !logX {
		xs.lo = math.Min(xs.lo, 0)
	}
	ys.lo = math.Min(ys.lo, 0)
	if ys.hi <= ys.lo {
		ys.hi = ys.lo + 1
	}
	if xs.hi <= xs.lo {
		xs.hi = xs.lo + 1
	}
	xa := axis{lo: xs.lo, hi: xs.hi, log: logX, pixLo: padLeft, pixHi: plotW - padRight}
	ya := axis{lo: ys.lo, hi: ys.hi * 1.05, pixLo: plotH - padBottom, pixHi: padTop}
	var b strings.Builder
	frame(&b, title, xLabel, yLabel, xa, ya)
	for i, s := range series {
		color := palette[i%len(palette)]
		var pts strings.Builder
		prevY := math.NaN()
		for _, p := range s.Points {
			x, y := xa.pos(p.X), ya.pos(p.Y)
			if step && !math.IsNaN(prevY) {
				fmt.Fprintf(&pts, "%.1f,%.1f ", x, prevY)
			}
			fmt.Fprintf(&pts, "%.1f,%.1f ", x, y)
			prevY = y
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.8" points="%s"/>`, color, strings.TrimSpace(pts.String()))
		legend(&b, i, s.Name, color)
	}
	b.WriteString("</svg>")
	return b.String()
}

// Bar is one histogram bin [Lo, Hi) with a count.
type Bar struct {
	Lo, Hi float64
	Count  int
}

// BarChart draws histogram bins of one or more named groups side by side.
func BarChart(title, xLabel, yLabel string, names []string, groups [][]Bar) string {
	xs := extent{lo: math.Inf(1), hi: math.Inf(-1)}
	maxCount := 1
	for _, g := range groups {
		for _, bar := range g {
			xs.lo, xs.hi = math.Min(xs.lo, bar.Lo), math.Max(xs.hi, bar.Hi)
			maxCount = max(maxCount, bar.Count)
		}
	}
	if math.IsInf(xs.lo, 0) {
		xs = extent{0, 1}
	}
	xa := axis{lo: math.Min(xs.lo, 0), hi: xs.hi, pixLo: padLeft, pixHi: plotW - padRight}
	ya := axis{lo: 0, hi: float64(maxCount) * 1.1, pixLo: plotH - padBottom, pixHi: padTop}
	var b strings.Builder
	frame(&b, title, xLabel, yLabel, xa, ya)
	n := float64(max(len(groups), 1))
	for gi, g := range groups {
		color := palette[gi%len(palette)]
		for _, bar := range g {
			x0, x1 := xa.pos(bar.Lo), xa.pos(bar.Hi)
			w := (x1 - x0) / n
			y := ya.pos(float64(bar.Count))
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" opacity="0.85"><title>%s: %d in [%s, %s)</title></rect>`,
				x0+w*float64(gi), y, math.Max(w-0.5, 0.5), ya.pos(0)-y, color, html.EscapeString(names[gi]), bar.Count, fmtTick(bar.Lo), fmtTick(bar.Hi))
		}
		legend(&b, gi, names[gi], color)
	}
	b.WriteString("</svg>")
	return b.String()
}

// Bins splits values into about n equal bins over [0, max].
func Bins(values []float64, n int) []Bar {
	if len(values) == 0 || n <= 0 {
		return nil
	}
	hi := 0.0
	for _, v := range values {
		hi = math.Max(hi, v)
	}
	width := niceStep(math.Max(hi, 1) / float64(n))
	bars := make([]Bar, int(hi/width)+1)
	for i := range bars {
		bars[i] = Bar{Lo: float64(i) * width, Hi: float64(i+1) * width}
	}
	for _, v := range values {
		if v < 0 {
			continue
		}
		bars[min(int(v/width), len(bars)-1)].Count++
	}
	return bars
}

type extent struct{ lo, hi float64 }

func bounds(series []Series) (xs, ys extent) {
	xs, ys = extent{math.Inf(1), math.Inf(-1)}, extent{math.Inf(1), math.Inf(-1)}
	for _, s := range series {
		for _, p := range s.Points {
			xs.lo, xs.hi = math.Min(xs.lo, p.X), math.Max(xs.hi, p.X)
			ys.lo, ys.hi = math.Min(ys.lo, p.Y), math.Max(ys.hi, p.Y)
		}
	}
	if math.IsInf(xs.lo, 0) {
		xs, ys = extent{0, 1}, extent{0, 1}
	}
	return xs, ys
}

func minPositiveX(series []Series) float64 {
	m := math.Inf(1)
	for _, s := range series {
		for _, p := range s.Points {
			if p.X > 0 {
				m = math.Min(m, p.X)
			}
		}
	}
	if math.IsInf(m, 0) {
		return 1
	}
	return m
}

func frame(b *strings.Builder, title, xLabel, yLabel string, xa, ya axis) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" class="plot" viewBox="0 0 %d %d" width="%d" height="%d" font-family="sans-serif" font-size="11">`,
		plotW, plotH, plotW, plotH)
	fmt.Fprintf(b, `<text x="%d" y="18" font-size="13" font-weight="bold">%s</text>`, padLeft, html.EscapeString(title))
	x0, x1, y0, y1 := xa.pixLo, xa.pixHi, ya.pixLo, ya.pixHi
	for _, t := range xa.ticks() {
		x := xa.pos(t)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/><text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`,
			x, y0, x, y1, x, y0+14, fmtTick(t))
	}
	for _, t := range ya.ticks() {
		y := ya.pos(t)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/><text x="%.1f" y="%.1f" text-anchor="end">%s</text>`,
			x0, y, x1, y, x0-4, y+4, fmtTick(t))
	}
	fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#888"/>`, x0, y1, x1-x0, y0-y1)
	fmt.Fprintf(b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`, (x0+x1)/2, plotH-8, html.EscapeString(xLabel))
	fmt.Fprintf(b, `<text transform="translate(14 %.1f) rotate(-90)" text-anchor="middle">%s</text>`, (y0+y1)/2, html.EscapeString(yLabel))
}

func legend(b *strings.Builder, i int, name, color string) {
	y := padTop + 10 + 16*i
	x := plotW - padRight + 10
	fmt.Fprintf(b, `<rect x="%d" y="%d" width="12" height="4" fill="%s"/><text x="%d" y="%d">%s</text>`,
		x, y-4, color, x+16, y+1, html.EscapeString(name))
}
