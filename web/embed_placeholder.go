//go:build !webdist

package web

import "embed"

//go:embed placeholder
var placeholderFiles embed.FS

var (
	appFS         = subOrSelf(placeholderFiles, "placeholder")
	isPlaceholder = true
)
