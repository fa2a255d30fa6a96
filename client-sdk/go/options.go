package client

import (
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"
)

// Defaults used when an Options field is left zero.
const (
	DefaultProtocol       = 16
	DefaultPublishTimeout = 10 * time.Second
	DefaultJoinTimeout    = 15 * time.Second
	DefaultMaxResume      = 5
	DefaultRetryDelay     = 500 * time.Millisecond
	// SDKVersion is sent as the `version` query parameter (ClientInfo.version).
	SDKVersion = "0.1.0"
)

// Options configures a Room. The zero value is valid; Connect fills the defaults documented per field.
type Options struct {
	// Logger receives the room's log lines (never one per packet). It defaults to a discarding logger.
	Logger *slog.Logger
	// JSON selects protojson text frames instead of protobuf binary frames. It defaults to false.
	JSON bool
	// AutoSubscribe asks the server to subscribe every permitted track. It defaults to true
	// (use WithAutoSubscribe(false) to turn it off).
	AutoSubscribe *bool
	// Protocol is the `protocol` query parameter. It defaults to 16 (DefaultProtocol); 17 is what
	// livekit-client 2.23 sends.
	Protocol int
	// API is the pion API (media engine, interceptors, setting engine) the room's peer connections are
	// built from. Share one between many rooms to save memory. It defaults to a new API from APIConfig{}.
	API *API
	// Callbacks receive the room's events, one at a time, in order, on the room's event goroutine.
	Callbacks Callbacks
	// AutoDrain makes the room read every subscribed track itself, keeping RemoteTrack.Stats current and
	// calling Callbacks.OnRTP per packet; callers must then not read the TrackRemote. It defaults to false.
	AutoDrain bool
	// HTTPClient dials the WebSocket. It defaults to http.DefaultClient.
	HTTPClient *http.Client
	// ExtraQuery is added to every /rtc URL (e.g. adaptive_stream=1 or client_protocol=2 in tests).
	ExtraQuery url.Values
	// JoinTimeout bounds dialing plus waiting for the JoinResponse when ctx has no deadline.
	// It defaults to 15 s.
	JoinTimeout time.Duration
	// PublishTimeout bounds waiting for TrackPublishedResponse. It defaults to 10 s.
	PublishTimeout time.Duration
	// MaxResumeAttempts is how many resumes (reconnect=1) are tried before a full rejoin. It defaults to 5.
	MaxResumeAttempts int
	// RetryDelay is the pause between reconnect attempts, doubled each time up to 5 s. It defaults to 500 ms.
	RetryDelay time.Duration
	// DisableReconnect makes a signal drop end the room instead of resuming. It defaults to false.
	DisableReconnect bool
}

// Option changes Options.
type Option func(*Options)

// WithOptions replaces all options at once (later Options still apply on top).
func WithOptions(o Options) Option { return func(dst *Options) { *dst = o } }

// WithLogger sets Options.Logger.
func WithLogger(l *slog.Logger) Option { return func(o *Options) { o.Logger = l } }

// WithJSON sets Options.JSON (protojson text frames).
func WithJSON() Option { return func(o *Options) { o.JSON = true } }

// WithAutoSubscribe sets Options.AutoSubscribe.
func WithAutoSubscribe(on bool) Option { return func(o *Options) { o.AutoSubscribe = &on } }

// WithProtocol sets Options.Protocol.
func WithProtocol(v int) Option { return func(o *Options) { o.Protocol = v } }

// WithAPI sets Options.API (share one between rooms).
func WithAPI(api *API) Option { return func(o *Options) { o.API = api } }

// WithCallbacks sets Options.Callbacks.
func WithCallbacks(cb Callbacks) Option { return func(o *Options) { o.Callbacks = cb } }

// WithAutoDrain sets Options.AutoDrain.
func WithAutoDrain() Option { return func(o *Options) { o.AutoDrain = true } }

// WithHTTPClient sets Options.HTTPClient.
func WithHTTPClient(c *http.Client) Option { return func(o *Options) { o.HTTPClient = c } }

// WithExtraQuery sets Options.ExtraQuery.
func WithExtraQuery(q url.Values) Option { return func(o *Options) { o.ExtraQuery = q } }

// WithoutReconnect sets Options.DisableReconnect.
func WithoutReconnect() Option { return func(o *Options) { o.DisableReconnect = true } }

func (o *Options) fillDefaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.AutoSubscribe == nil {
		on := true
		o.AutoSubscribe = &on
	}
	if o.Protocol <= 0 {
		o.Protocol = DefaultProtocol
	}
	if o.HTTPClient == nil {
		o.HTTPClient = http.DefaultClient
	}
	if o.JoinTimeout <= 0 {
		o.JoinTimeout = DefaultJoinTimeout
	}
	if o.PublishTimeout <= 0 {
		o.PublishTimeout = DefaultPublishTimeout
	}
	if o.MaxResumeAttempts <= 0 {
		o.MaxResumeAttempts = DefaultMaxResume
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = DefaultRetryDelay
	}
}
