package web

import (
	"io/fs"
	"strings"
	"testing"
)

func TestFSServesIndex(t *testing.T) {
	data, err := fs.ReadFile(FS(), "index.html")
	if err != nil {
		t.Fatalf("read index.html: %v", err)
	}
	if !strings.Contains(string(data), "<title>classcast</title>") {
		t.Fatalf("index.html does not look like the classcast page:\n%s", data)
	}
}
