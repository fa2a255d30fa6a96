package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Config names an S3-compatible bucket (AWS S3, MinIO, Ceph RGW,
// versitygw, ...).
type S3Config struct {
	// Endpoint is "host[:port]" (HTTPS) or a URL whose scheme picks HTTP or
	// HTTPS, e.g. "http://127.0.0.1:9000". "" is AWS S3.
	Endpoint string `yaml:"endpoint"`
	Bucket   string `yaml:"bucket"`
	// Region is sent in signatures; "" lets the client ask the server.
	Region string `yaml:"region"`
	// AccessKey and SecretKey are static credentials; when both are empty
	// the AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY environment is used.
	AccessKey string `yaml:"access_key"`
	SecretKey string `yaml:"secret_key"`
	// PathStyle addresses the bucket as endpoint/bucket/key instead of
	// bucket.endpoint/key: MinIO, Ceph RGW and most self-hosted stores
	// need it.
	PathStyle bool `yaml:"path_style"`
	// Prefix is put before every object key ("classcast/" keeps the
	// recordings in one folder of a shared bucket).
	Prefix string `yaml:"prefix"`
	// MaxRetries bounds the client's own retries of one request (default
	// 3). Whole uploads are retried by the Uploader with a longer backoff.
	MaxRetries int `yaml:"-"`
}

// Enabled reports whether a bucket is configured.
func (c S3Config) Enabled() bool { return c.Bucket != "" }

// S3 is a bucket holding uploaded assets. Its Open takes object keys
// relative to the prefix; reads are ranged GETs, so seeking in a lesson
// never downloads the whole file.
type S3 struct {
	cfg    S3Config
	core   minio.Core
	tr     *http.Transport
	where  string // endpoint for logs and placement records
	ctx    context.Context
	cancel context.CancelFunc
}

// NewS3 checks cfg and builds a client. It does not contact the server:
// a store that is down at start is retried by whoever uses it.
func NewS3(cfg S3Config) (*S3, error) {
	if cfg.Bucket == "" {
		return nil, fmt.Errorf("%w: no bucket", ErrS3Config)
	}
	if (cfg.AccessKey == "") != (cfg.SecretKey == "") {
		return nil, fmt.Errorf("%w: access key and secret key go together", ErrS3Config)
	}
	host, secure, err := parseEndpoint(cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	creds := credentials.NewEnvAWS()
	if cfg.AccessKey != "" {
		creds = credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, "")
	}
	lookup := minio.BucketLookupAuto
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	if cfg.MaxRetries <= 0 {
		cfg.MaxRetries = 3
	}
	if cfg.Prefix != "" && !strings.HasSuffix(cfg.Prefix, "/") {
		cfg.Prefix += "/"
	}
	// An own transport, so that Close can drop its idle connections (and
	// their goroutines) instead of leaving them to the shared default.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	cl, err := minio.New(host, &minio.Options{Creds: creds, Secure: secure, Region: cfg.Region,
		BucketLookup: lookup, MaxRetries: cfg.MaxRetries, Transport: tr})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrS3Config, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	scheme := "https://"
	if !secure {
		scheme = "http://"
	}
	return &S3{cfg: cfg, core: minio.Core{Client: cl}, tr: tr, where: scheme + host, ctx: ctx, cancel: cancel}, nil
}

func parseEndpoint(ep string) (host string, secure bool, err error) {
	if ep == "" {
		return "s3.amazonaws.com", true, nil
	}
	if !strings.Contains(ep, "://") {
		return ep, true, nil
	}
	u, err := url.Parse(ep)
	if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return "", false, fmt.Errorf("%w: endpoint %q is not host[:port] or scheme://host[:port]", ErrS3Config, ep)
	}
	switch u.Scheme {
	case "https":
		return u.Host, true, nil
	case "http":
		return u.Host, false, nil
	}
	return "", false, fmt.Errorf("%w: endpoint scheme %q", ErrS3Config, u.Scheme)
}

// Close cancels reads still streaming and drops idle connections.
func (s *S3) Close() error {
	s.cancel()
	s.tr.CloseIdleConnections()
	return nil
}

// Bucket returns the configured bucket.
func (s *S3) Bucket() string { return s.cfg.Bucket }

// Endpoint returns the server's URL.
func (s *S3) Endpoint() string { return s.where }

// Key returns the object key of a slash-separated name.
func (s *S3) Key(name string) string { return s.cfg.Prefix + name }

// EnsureBucket creates the bucket when it does not exist (a fresh MinIO);
// with credentials that may not create buckets, an existing one passes.
func (s *S3) EnsureBucket(ctx context.Context) error {
	ok, err := s.core.BucketExists(ctx, s.cfg.Bucket)
	if err != nil {
		return fmt.Errorf("storage: s3 bucket %s: %w", s.cfg.Bucket, err)
	}
	if ok {
		return nil
	}
	err = s.core.MakeBucket(ctx, s.cfg.Bucket, minio.MakeBucketOptions{Region: s.cfg.Region})
	if err != nil {
		return fmt.Errorf("storage: s3 create bucket %s: %w", s.cfg.Bucket, err)
	}
	return nil
}

// Put uploads a local file as key (in the configured bucket) and returns
// the size and ETag the server reports. The server checks each part's MD5.
func (s *S3) Put(ctx context.Context, key, file string) (size int64, etag string, err error) {
	info, err := s.core.Client.FPutObject(ctx, s.cfg.Bucket, key, file,
		minio.PutObjectOptions{SendContentMd5: true, ContentType: contentType(key)})
	if err != nil {
		return 0, "", fmt.Errorf("storage: s3 put %s: %w", key, err)
	}
	return info.Size, info.ETag, nil
}

// Stat returns the size of an object.
func (s *S3) Stat(ctx context.Context, bucket, key string) (int64, error) {
	info, err := s.core.StatObject(ctx, bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return 0, s3Err("stat", key, err)
	}
	return info.Size, nil
}

// Open implements Store over the configured bucket and prefix.
func (s *S3) Open(name string) (Object, error) {
	c, err := CleanName(name)
	if err != nil {
		return nil, err
	}
	return s.OpenKey(s.cfg.Bucket, s.Key(c))
}

// OpenKey opens an object by bucket and full key (as a placement record
// names it). Its size comes from a HEAD; data is fetched on demand.
func (s *S3) OpenKey(bucket, key string) (Object, error) {
	ctx, cancel := context.WithTimeout(s.ctx, requestTimeout)
	defer cancel()
	info, err := s.core.StatObject(ctx, bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return nil, s3Err("open", key, err)
	}
	octx, ocancel := context.WithCancel(s.ctx)
	return &s3Object{s: s, bucket: bucket, key: key, size: info.Size, mod: info.LastModified,
		etag: info.ETag, ctx: octx, cancel: ocancel}, nil
}

// requestTimeout bounds a HEAD or the wait for a ranged GET's headers.
const requestTimeout = 30 * time.Second

func s3Err(op, key string, err error) error {
	switch minio.ToErrorResponse(err).Code {
	case minio.NoSuchKey, minio.NoSuchBucket:
		return fmt.Errorf("%w: %s: %w", ErrNotExist, key, err)
	}
	if r := minio.ToErrorResponse(err); r.StatusCode == http.StatusNotFound {
		return fmt.Errorf("%w: %s: %w", ErrNotExist, key, err)
	}
	return fmt.Errorf("storage: s3 %s %s: %w", op, key, err)
}

func contentType(key string) string {
	switch path.Ext(key) {
	case ".mp4":
		return "video/mp4"
	case ".jpg":
		return "image/jpeg"
	case ".json":
		return "application/json"
	case ".jsonl":
		return "application/jsonl"
	}
	return "application/octet-stream"
}

// s3Object reads an object by ranges. Sequential Reads (http.ServeContent
// copying a range) stream one GET from the current offset; a Seek elsewhere
// drops that stream. ReadAt (box scans, WebM remuxing) fetches a block and
// keeps it, so the small header reads of one fragment cost one GET. The
// block grows while ReadAt goes on where the last block ended (remuxing
// reads samples in order) and drops back to small when it jumps (a scan
// hopping from fragment header to fragment header should not download
// the media between them).
type s3Object struct {
	s           *S3
	bucket, key string
	size        int64
	mod         time.Time
	etag        string
	ctx         context.Context
	cancel      context.CancelFunc

	mu     sync.Mutex
	pos    int64
	body   io.ReadCloser // streaming from bodyAt
	bodyAt int64
	block  []byte // cached bytes at blkAt
	blkAt  int64
	ahead  int64 // size of the next block
	closed bool
}

// Bounds of the block a ReadAt fetches.
const (
	minReadBlock = 32 << 10
	maxReadBlock = 1 << 20
)

func (o *s3Object) Size() int64        { return o.size }
func (o *s3Object) ModTime() time.Time { return o.mod }

func (o *s3Object) get(off, n int64) (io.ReadCloser, error) {
	opts := minio.GetObjectOptions{}
	if err := opts.SetRange(off, off+n-1); err != nil {
		return nil, fmt.Errorf("storage: s3 range: %w", err)
	}
	// The object must not change under a reader that has its size.
	if err := opts.SetMatchETag(o.etag); err != nil {
		return nil, fmt.Errorf("storage: s3 etag: %w", err)
	}
	body, _, _, err := o.s.core.GetObject(o.ctx, o.bucket, o.key, opts)
	if err != nil {
		return nil, s3Err("get", o.key, err)
	}
	return body, nil
}

func (o *s3Object) Read(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return 0, ErrClosed
	}
	if o.pos >= o.size {
		return 0, io.EOF
	}
	if o.body != nil && o.bodyAt != o.pos {
		o.body.Close()
		o.body = nil
	}
	if o.body == nil {
		b, err := o.get(o.pos, o.size-o.pos)
		if err != nil {
			return 0, err
		}
		o.body, o.bodyAt = b, o.pos
	}
	n, err := o.body.Read(p)
	o.pos += int64(n)
	o.bodyAt = o.pos
	if errors.Is(err, io.EOF) {
		o.body.Close()
		o.body = nil
		if o.pos < o.size {
			return n, fmt.Errorf("storage: s3 get %s: %w", o.key, io.ErrUnexpectedEOF)
		}
		if n > 0 {
			err = nil
		}
	}
	return n, err
}

func (o *s3Object) Seek(offset int64, whence int) (int64, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = o.pos + offset
	case io.SeekEnd:
		abs = o.size + offset
	default:
		return 0, fmt.Errorf("storage: seek whence %d: %w", whence, ErrBadSeek)
	}
	if abs < 0 {
		return 0, fmt.Errorf("storage: seek to %d: %w", abs, ErrBadSeek)
	}
	o.pos = abs
	return abs, nil
}

func (o *s3Object) ReadAt(p []byte, off int64) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return 0, ErrClosed
	}
	if off < 0 {
		return 0, fmt.Errorf("storage: read at %d: %w", off, ErrBadSeek)
	}
	n := 0
	for n < len(p) {
		at := off + int64(n)
		if at >= o.size {
			return n, io.EOF
		}
		if at >= o.blkAt && at < o.blkAt+int64(len(o.block)) {
			n += copy(p[n:], o.block[at-o.blkAt:])
			continue
		}
		if at == o.blkAt+int64(len(o.block)) && len(o.block) > 0 {
			o.ahead = min(2*max(o.ahead, minReadBlock), maxReadBlock)
		} else {
			o.ahead = minReadBlock
		}
		want := max(int64(len(p)-n), o.ahead)
		want = min(want, o.size-at)
		if err := o.fill(at, want); err != nil {
			return n, err
		}
	}
	return n, nil
}

// fill replaces the cached block with n bytes at off.
func (o *s3Object) fill(off, n int64) error {
	body, err := o.get(off, n)
	if err != nil {
		return err
	}
	defer body.Close()
	if int64(cap(o.block)) < n {
		o.block = make([]byte, n)
	}
	o.block = o.block[:n]
	if _, err := io.ReadFull(body, o.block); err != nil {
		o.block = o.block[:0]
		return fmt.Errorf("storage: s3 get %s: %w", o.key, err)
	}
	o.blkAt = off
	return nil
}

func (o *s3Object) Close() error {
	o.cancel() // first: it ends a Read blocked on the network, which holds mu
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return nil
	}
	o.closed = true
	if o.body != nil {
		o.body.Close()
		o.body = nil
	}
	return nil
}
