package node

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/classcast/classcast/classroom"
	"github.com/classcast/classcast/sfu/forward"
	"github.com/classcast/classcast/sfu/room"
	"github.com/classcast/classcast/sfu/rtc"
	"github.com/classcast/classcast/signaling"
	"github.com/classcast/classcast/web"
)

// Version is reported to clients in server_info.
var Version = "0.1.0"

// Node is one running classcast process.
type Node struct {
	cfg      Config
	log      *slog.Logger
	engine   *rtc.Engine
	rooms    *room.Manager
	registry *prometheus.Registry
	http     *http.Server
	ln       net.Listener
	served   chan struct{}
	ingest   *ingestRuntime
	cascade  *cascadeRuntime
}

// Start opens every port and serves until Close.
func Start(cfg Config, log *slog.Logger) (*Node, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.NodeID == "" {
		var b [6]byte
		_, _ = rand.Read(b[:])
		cfg.NodeID = "ND_" + hex.EncodeToString(b[:])
	}
	n := &Node{cfg: cfg, log: log, registry: prometheus.NewRegistry(), served: make(chan struct{})}
	n.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	engine, err := rtc.NewEngine(rtc.Config{
		BindAddr: cfg.Bind, UDPPort: cfg.RTC.UDPPort, TCPPort: cfg.RTC.TCPPort,
		NAT1To1IPs: cfg.RTC.NodeIPs, AllowLoopback: cfg.RTC.AllowLoopback, Logger: log.With("component", "rtc"),
	})
	if err != nil {
		return nil, err
	}
	n.engine = engine
	n.rooms = room.NewManager(room.Config{
		Engine: engine, Metrics: forward.NewMetrics(n.registry), Logger: log.With("component", "room"),
		EmptyTimeout: cfg.Room.EmptyTimeout, DepartureTimeout: cfg.Room.DepartureTimeout,
		MaxParticipants: cfg.Room.MaxParticipants, ResumeGrace: cfg.Room.ResumeGrace,
		NoCongestionControl: cfg.RTC.NoCongestionControl, NodeID: cfg.NodeID, Region: cfg.Region, Version: Version,
		// With an external directory other nodes outlive this one.
		ReconnectOnShutdown: cfg.Cascade.Enabled && cfg.Cascade.NATSURL != "",
	})
	n.registerGauges()
	n.registry.MustRegister(newSubscriberCollector(n))
	n.startClassroom()
	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.Bind, strconv.Itoa(cfg.Port)))
	if err != nil {
		engine.Close()
		return nil, fmt.Errorf("%w: http port: %w", rtc.ErrListen, err)
	}
	n.ln = ln
	n.http = &http.Server{Handler: n.mux(), ReadHeaderTimeout: 10 * time.Second}
	if err := n.startIngest(); err != nil {
		return nil, err
	}
	n.startRecorder()
	if err := n.startCascade(); err != nil {
		return nil, err
	}
	go func() {
		defer close(n.served)
		if err := n.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server stopped", "err", err)
		}
	}()
	return n, nil
}

func (n *Node) mux() *http.ServeMux {
	mux := http.NewServeMux()
	keys := signaling.Keys(n.cfg.Keys)
	signaling.NewServer(keys, n.rooms, n.log.With("component", "signaling")).Register(mux)
	prefix, rs := signaling.NewRoomServiceHandler(keys, n.rooms)
	mux.Handle(prefix, rs)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.HandleFunc("GET /api/admin/rooms", n.adminRooms)
	mux.Handle("/metrics", promhttp.HandlerFor(n.registry, promhttp.HandlerOpts{}))
	if n.cfg.Dev {
		mux.HandleFunc("/api/dev-token", n.devToken)
	}
	mux.Handle("/", http.FileServerFS(web.FS()))
	return mux
}

// devToken mints a token for the web app in --dev mode only:
// ?room=&identity=&name= plus, optionally, &role=&classroom=&classroom_name=
// (the classroom roles of docs/classroom-protocol.md), or &admin=1 for a
// token with roomAdmin/roomList/roomRecord/roomCreate/ingressAdmin on every room.
func (n *Node) devToken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	roomName, identity := q.Get("room"), q.Get("identity")
	admin := q.Get("admin") == "1"
	if identity == "" || (roomName == "" && !admin) {
		http.Error(w, "identity and room (or admin=1) are required", http.StatusBadRequest)
		return
	}
	var key, secret string
	for k, s := range n.cfg.Keys {
		key, secret = k, s
		break
	}
	g := &auth.VideoGrant{RoomJoin: roomName != "", Room: roomName}
	t := auth.NewAccessToken(key, secret).SetIdentity(identity).SetName(q.Get("name")).SetValidFor(6 * time.Hour)
	if role := q.Get("role"); role != "" {
		rl, err := classroom.ParseRole(role)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		attrs, err := classroom.TokenAttributes(rl, q.Get("classroom"), q.Get("classroom_name"), classroom.Mode(q.Get("mode")))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		g = rl.Grant()
		g.RoomJoin, g.Room = roomName != "", roomName
		t.SetAttributes(attrs)
	}
	if admin {
		g.RoomAdmin, g.RoomList, g.RoomRecord, g.RoomCreate, g.IngressAdmin = true, true, true, true, true
		if roomName == "" {
			g.Room = ""
		}
	}
	jwt, err := t.SetVideoGrant(g).ToJWT()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = fmt.Fprintf(w, `{"token":%q,"url":"ws://%s"}`, jwt, r.Host)
}

func (n *Node) registerGauges() {
	g := func(name, help string, f func() float64) {
		n.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "classcast", Name: name, Help: help}, f))
	}
	g("rooms", "Open rooms.", func() float64 { return float64(len(n.rooms.List())) })
	g("participants", "Participants in all rooms.", func() float64 {
		total := 0
		for _, r := range n.rooms.List() {
			total += len(r.Participants())
		}
		return float64(total)
	})
	g("published_tracks", "Tracks being published.", func() float64 {
		total := 0
		for _, r := range n.rooms.List() {
			for _, p := range r.Participants() {
				total += len(p.Tracks)
			}
		}
		return float64(total)
	})
}

// Addr is the HTTP address.
func (n *Node) Addr() *net.TCPAddr { return n.ln.Addr().(*net.TCPAddr) }

// URL is the signaling base URL (ws://host:port).
func (n *Node) URL() string { return "ws://" + n.Addr().String() }

// UDPAddr is the media address.
func (n *Node) UDPAddr() *net.UDPAddr { return n.engine.UDPAddr() }

// TCPAddr is the ICE-TCP address (nil when disabled).
func (n *Node) TCPAddr() *net.TCPAddr { return n.engine.TCPAddr() }

// Rooms gives access to the room manager (admin API, tests).
func (n *Node) Rooms() *room.Manager { return n.rooms }

// Registry is the node's metrics registry, for other components' collectors.
func (n *Node) Registry() *prometheus.Registry { return n.registry }

// Close drains: clients are told the server is going away, then ports close.
func (n *Node) Close(ctx context.Context) error {
	n.closeIngest()
	n.closeRecorder(ctx)
	n.rooms.Close("server shutting down")
	n.closeCascade()
	err := n.http.Shutdown(ctx)
	<-n.served
	n.engine.Close()
	return err
}
