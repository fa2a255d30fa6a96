//go:build webdist

package web

import "embed"

// all: keeps files whose names start with '.' or '_' (Vite may emit such chunk names).
//
//go:embed all:dist
var distFiles embed.FS

var (
	appFS         = subOrSelf(distFiles, "dist")
	isPlaceholder = false
)
