package main

import (
	"flag"
	"io"
	"testing"

	"github.com/classcast/classcast/sfu/node"
)

// TestS3FlagsOverrideOnlyWhatIsGiven: flags given on the command line set
// their config fields; the others keep the config file's values.
func TestS3FlagsOverrideOnlyWhatIsGiven(t *testing.T) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	s3 := s3Flags(fs)
	if err := fs.Parse([]string{"--s3-bucket", "lessons", "--s3-path-style", "--s3-prefix", "cc/"}); err != nil {
		t.Fatal(err)
	}
	c := node.S3Config{KeepLocal: true}
	c.Bucket, c.Region = "from-file", "eu-west-1"
	s3.apply(fs, &c)
	want := node.S3Config{KeepLocal: true}
	want.Bucket, want.Region, want.PathStyle, want.Prefix = "lessons", "eu-west-1", true, "cc/"
	if c != want {
		t.Errorf("config %+v, want %+v", c, want)
	}
}
