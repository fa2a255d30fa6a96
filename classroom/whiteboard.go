package classroom

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
)

// Whiteboard limits (contract: strokes over 64 KiB or 5,000 points are
// refused); the others keep one room's board bounded.
const (
	maxStrokeBytes    = 64 << 10
	maxStrokePoints   = 5000
	maxPages          = 100
	maxStrokesPerPage = 5000
	maxBoardBytes     = 16 << 20
	maxStrokeIDLen    = 64
	maxStrokeText     = 4096
	// snapshotPartBytes keeps each snapshot message under the 64 KiB SCTP
	// message size pion and browsers accept, with room for the DataPacket.
	snapshotPartBytes = 48 << 10
)

// Whiteboard ops.
const (
	OpStroke   = "stroke"
	OpUndo     = "undo"
	OpClear    = "clear"
	OpPage     = "page"
	OpSync     = "sync"
	OpSnapshot = "snapshot"
)

var strokeTools = map[string]bool{
	"pen": true, "highlighter": true, "eraser": true, "line": true, "rect": true,
	"ellipse": true, "arrow": true, "text": true,
}

// BoardOp is a whiteboard message, both ways (seq and by set by the server).
type BoardOp struct {
	Op       string  `json:"op"`
	Page     int     `json:"page"`
	Stroke   *Stroke `json:"stroke,omitempty"`
	StrokeID string  `json:"stroke_id,omitempty"`
	Seq      uint64  `json:"seq,omitempty"`
	By       string  `json:"by,omitempty"`
}

// Stroke is one vector stroke; coordinates are 0..1 of the (16:9) page.
type Stroke struct {
	ID     string       `json:"id"`
	Tool   string       `json:"tool"`
	Color  string       `json:"color"`
	Width  float64      `json:"width"`
	Points [][2]float64 `json:"points"`
	Text   string       `json:"text,omitempty"`
}

func (s *Stroke) validate() *refusal {
	switch {
	case s.ID == "" || len(s.ID) > maxStrokeIDLen:
		return refuse(codeBadRequest, "stroke id must be 1..64 characters")
	case !strokeTools[s.Tool]:
		return refuse(codeBadRequest, fmt.Sprintf("unknown stroke tool %q", s.Tool))
	case len(s.Color) > 32:
		return refuse(codeBadRequest, "stroke color too long")
	case !(s.Width >= 0 && s.Width <= 200):
		return refuse(codeBadRequest, "stroke width must be 0..200")
	case len(s.Points) > maxStrokePoints:
		return refuse(codeBadRequest, fmt.Sprintf("stroke has %d points, the limit is %d", len(s.Points), maxStrokePoints))
	case len(s.Points) == 0 && s.Tool != "text":
		return refuse(codeBadRequest, "stroke without points")
	case len(s.Text) > maxStrokeText:
		return refuse(codeBadRequest, "stroke text too long")
	}
	for _, p := range s.Points {
		for _, v := range p {
			// Normalised coordinates; a little outside the page is fine
			// (a stroke may leave it), infinities and NaN are not.
			if math.IsNaN(v) || v < -1 || v > 2 {
				return refuse(codeBadRequest, "stroke coordinates must be normalised (0..1)")
			}
		}
	}
	return nil
}

type storedStroke struct {
	id  string
	raw json.RawMessage
}

// Board is a room's whiteboard: strokes per page and a room-wide sequence.
// Owned by the room loop.
type Board struct {
	seq     uint64
	current int
	pages   map[int][]storedStroke
	bytes   int
}

// NewBoard returns an empty board.
func NewBoard() *Board { return &Board{pages: map[int][]storedStroke{}} }

// Seq is the last applied op's sequence number.
func (b *Board) Seq() uint64 { return b.seq }

// ParseBoardOp decodes and validates a client whiteboard message.
func ParseBoardOp(payload []byte) (*BoardOp, *refusal) {
	var op BoardOp
	dec := json.NewDecoder(bytes.NewReader(payload))
	if err := dec.Decode(&op); err != nil {
		return nil, refuse(codeBadRequest, "malformed whiteboard JSON: "+err.Error())
	}
	op.Seq, op.By = 0, ""
	if op.Page < 0 || op.Page >= maxPages {
		return nil, refuse(codeBadRequest, fmt.Sprintf("page must be 0..%d", maxPages-1))
	}
	switch op.Op {
	case OpStroke:
		if op.Stroke == nil {
			return nil, refuse(codeBadRequest, "stroke op without stroke")
		}
		if r := op.Stroke.validate(); r != nil {
			return nil, r
		}
	case OpUndo:
		if op.StrokeID == "" {
			return nil, refuse(codeBadRequest, "undo without stroke_id")
		}
	case OpClear, OpPage, OpSync:
	default:
		return nil, refuse(codeBadRequest, fmt.Sprintf("unknown whiteboard op %q", op.Op))
	}
	return &op, nil
}

// Apply changes the board and returns the op to broadcast (with seq, by).
func (b *Board) Apply(op *BoardOp, by string) (*BoardOp, *refusal) {
	switch op.Op {
	case OpStroke:
		raw, err := json.Marshal(op.Stroke)
		if err != nil {
			return nil, refuse(codeBadRequest, "stroke not encodable")
		}
		if len(raw) > maxStrokeBytes {
			return nil, refuse(codeBadRequest, fmt.Sprintf("stroke is %d bytes, the limit is 64 KiB", len(raw)))
		}
		strokes := b.pages[op.Page]
		idx := indexOfStroke(strokes, op.Stroke.ID)
		grow := len(raw)
		if idx >= 0 {
			grow -= len(strokes[idx].raw)
		}
		if b.bytes+grow > maxBoardBytes {
			return nil, refuse(codeLimit, "whiteboard is full (16 MiB); clear a page")
		}
		if idx < 0 && len(strokes) >= maxStrokesPerPage {
			return nil, refuse(codeLimit, fmt.Sprintf("page %d has %d strokes, the limit", op.Page, maxStrokesPerPage))
		}
		// The same id again replaces the stroke (a stroke drawn progressively).
		if idx >= 0 {
			strokes[idx].raw = raw
		} else {
			b.pages[op.Page] = append(strokes, storedStroke{id: op.Stroke.ID, raw: raw})
		}
		b.bytes += grow
	case OpUndo:
		strokes := b.pages[op.Page]
		idx := indexOfStroke(strokes, op.StrokeID)
		if idx < 0 {
			return nil, refuse(codeNotFound, fmt.Sprintf("no stroke %q on page %d", op.StrokeID, op.Page))
		}
		b.bytes -= len(strokes[idx].raw)
		b.pages[op.Page] = append(strokes[:idx:idx], strokes[idx+1:]...)
	case OpClear:
		for _, s := range b.pages[op.Page] {
			b.bytes -= len(s.raw)
		}
		delete(b.pages, op.Page)
	case OpPage:
		b.current = op.Page
	default:
		return nil, refuse(codeBadRequest, "op "+op.Op+" does not change the board")
	}
	b.seq++
	out := *op
	out.Seq, out.By = b.seq, by
	return &out, nil
}

func indexOfStroke(strokes []storedStroke, id string) int {
	for i := range strokes {
		if strokes[i].id == id {
			return i
		}
	}
	return -1
}

// Snapshot encodes the whole board as one or more snapshot messages, each
// under snapshotPartBytes unless a single stroke is larger. With several
// parts every message carries "part" (1-based) and "parts".
func (b *Board) Snapshot() [][]byte {
	type chunk struct {
		page    int
		strokes []json.RawMessage
	}
	var parts [][]chunk
	var cur []chunk
	size := 0
	pages := make([]int, 0, len(b.pages))
	for p := range b.pages {
		pages = append(pages, p)
	}
	sort.Ints(pages)
	for _, p := range pages {
		var c *chunk
		for _, s := range b.pages[p] {
			if size > 0 && size+len(s.raw)+1 > snapshotPartBytes {
				parts = append(parts, cur)
				cur, size, c = nil, 0, nil
			}
			if c == nil {
				cur = append(cur, chunk{page: p})
				c = &cur[len(cur)-1]
				size += 16
			}
			c.strokes = append(c.strokes, s.raw)
			size += len(s.raw) + 1
		}
	}
	if len(cur) > 0 || len(parts) == 0 {
		parts = append(parts, cur)
	}
	out := make([][]byte, 0, len(parts))
	for i, part := range parts {
		var buf bytes.Buffer
		fmt.Fprintf(&buf, `{"op":"snapshot","seq":%d,"current_page":%d,"pages":{`, b.seq, b.current)
		for j, c := range part {
			if j > 0 {
				buf.WriteByte(',')
			}
			buf.WriteString(`"` + strconv.Itoa(c.page) + `":[`)
			for k, s := range c.strokes {
				if k > 0 {
					buf.WriteByte(',')
				}
				buf.Write(s)
			}
			buf.WriteByte(']')
		}
		buf.WriteByte('}')
		if len(parts) > 1 {
			fmt.Fprintf(&buf, `,"part":%d,"parts":%d`, i+1, len(parts))
		}
		buf.WriteByte('}')
		out = append(out, buf.Bytes())
	}
	return out
}
