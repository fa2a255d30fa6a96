package client

// NewAPIWithCongestionFeedback is NewAPI: rooms send transport-wide congestion control feedback by
// default now, as browsers do (APIConfig.NoCongestionFeedback turns it off).
//
// Deprecated: use NewAPI.
func NewAPIWithCongestionFeedback(cfg APIConfig) (*API, error) { return NewAPI(cfg) }
