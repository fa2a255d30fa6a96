package clip

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
)

// Poster grabs one frame of video at second at (on the file's timeline)
// into a JPEG with ffmpeg. ffmpegPath "" looks ffmpeg up in PATH.
func Poster(ctx context.Context, ffmpegPath, video string, at float64, dst string) error {
	if ffmpegPath == "" {
		p, err := exec.LookPath("ffmpeg")
		if err != nil {
			return ErrNoFFmpeg
		}
		ffmpegPath = p
	}
	cmd := exec.CommandContext(ctx, ffmpegPath, "-v", "error", "-nostdin", "-y",
		"-ss", strconv.FormatFloat(at, 'f', 3, 64), "-i", video, "-frames:v", "1", "-q:v", "3", dst)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("clip: poster: %w: %s", err, out)
	}
	return nil
}
