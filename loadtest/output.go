package loadtest

import (
	"fmt"
	"os"

	"github.com/classcast/classcast/loadtest/report"
)

// WriteFiles writes the JSON and/or HTML report; an empty path skips that format.
func WriteFiles(rep *report.Report, jsonPath, htmlPath string) error {
	write := func(path string, fn func(*os.File) error) error {
		if path == "" {
			return nil
		}
		f, err := os.Create(path)
		if err != nil {
			return fmt.Errorf("loadtest: %w", err)
		}
		if err := fn(f); err != nil {
			_ = f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("loadtest: %w", err)
		}
		return nil
	}
	if err := write(jsonPath, func(f *os.File) error { return rep.WriteJSON(f) }); err != nil {
		return err
	}
	return write(htmlPath, func(f *os.File) error { return rep.WriteHTML(f) })
}
