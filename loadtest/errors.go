package loadtest

import "errors"

var (
	// ErrConfig is returned for an invalid Config.
	ErrConfig = errors.New("loadtest: invalid configuration")
	// ErrNoMedia is returned when a participant's plan cannot publish.
	ErrNoMedia = errors.New("loadtest: publish failed")
	// ErrScrape is returned when the server's /metrics cannot be read.
	ErrScrape = errors.New("loadtest: metrics scrape failed")
	// ErrMasterJoin is returned when the lesson's master (the only publisher that matters) fails.
	ErrMasterJoin = errors.New("loadtest: master did not join")
)
