// Package web holds the classcast web app (a Vite + TypeScript project in this directory) and
// exposes its built files to the Go server.
//
// Which files are embedded is chosen by the `webdist` build tag, so that `go build ./...`,
// `go vet ./...` and `go test ./...` work on a fresh checkout where the app was never built:
//
//   - with `-tags webdist` (what `make build` and `make run` use, after `make web` has filled
//     dist/), FS serves the Vite build output in dist/;
//   - without it, FS serves placeholder/, a single index.html saying how to build the app.
//
// A build with the tag and no dist/ fails at compile time ("pattern all:dist: no matching files"),
// which is the point: a release binary never silently ships the placeholder.
package web

import "io/fs"

// FS returns the web app's files, rooted so that "index.html" is at the top.
func FS() fs.FS {
	return appFS
}

// IsPlaceholder reports whether FS serves the placeholder page instead of a built app.
func IsPlaceholder() bool {
	return isPlaceholder
}

// subOrSelf roots fsys at dir. fs.Sub only fails on an invalid path, and both callers pass a
// constant valid one, so the fallback exists just to avoid a panic path.
func subOrSelf(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		return fsys
	}
	return sub
}
