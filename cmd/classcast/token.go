package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"

	"github.com/classcast/classcast/classroom"
)

func runToken(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: classcast token --room R --identity I [flags]

Prints a LiveKit-compatible access token (JWT) on standard output. Without
--api-key/--api-secret it uses CLASSCAST_API_KEY/CLASSCAST_API_SECRET, else the
dev key ("devkey"/"secret").

Flags:
`)
		fs.PrintDefaults()
	}
	key := fs.String("api-key", envOr("CLASSCAST_API_KEY", "devkey"), "API key")
	secret := fs.String("api-secret", envOr("CLASSCAST_API_SECRET", "secret"), "API secret")
	roomName := fs.String("room", "", "room to join (required unless --admin-only)")
	identity := fs.String("identity", "", "participant identity (required)")
	name := fs.String("name", "", "display name")
	metadata := fs.String("metadata", "", "participant metadata")
	canPublish := fs.Bool("can-publish", true, "may publish media")
	canSubscribe := fs.Bool("can-subscribe", true, "may subscribe")
	canPublishData := fs.Bool("can-publish-data", true, "may send data packets")
	sources := fs.String("sources", "", "comma-separated sources allowed to publish (camera,microphone,screen_share,screen_share_audio); empty = all")
	hidden := fs.Bool("hidden", false, "participant is invisible to others")
	admin := fs.Bool("admin", false, "grant roomAdmin, roomCreate, roomList and roomRecord")
	updateMeta := fs.Bool("can-update-metadata", false, "may update own metadata")
	validFor := fs.Duration("valid-for", 6*time.Hour, "token lifetime")
	role := fs.String("role", "", "classroom role (master_teacher, remote_teacher, classroom_display, admin, meeting_participant, observer): sets the classcast.* attributes and the role's grants, overriding the can-*/sources/hidden flags")
	classroomID := fs.String("classroom", "", "classroom id (required for remote_teacher and classroom_display)")
	classroomName := fs.String("classroom-name", "", "classroom display name")
	mode := fs.String("mode", "", "room mode carried by a master_teacher token: lesson or meeting")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *identity == "" {
		return errors.New("token: --identity is required")
	}
	if *roomName == "" && !*admin {
		return errors.New("token: --room is required")
	}
	g := &auth.VideoGrant{Room: *roomName, RoomJoin: *roomName != "", Hidden: *hidden}
	g.SetCanPublish(*canPublish)
	g.SetCanSubscribe(*canSubscribe)
	g.SetCanPublishData(*canPublishData)
	g.SetCanUpdateOwnMetadata(*updateMeta)
	if *sources != "" {
		var list []livekit.TrackSource
		for _, s := range strings.Split(*sources, ",") {
			v, ok := livekit.TrackSource_value[strings.ToUpper(strings.TrimSpace(s))]
			if !ok {
				return fmt.Errorf("token: unknown source %q", s)
			}
			list = append(list, livekit.TrackSource(v))
		}
		g.SetCanPublishSources(list)
	}
	attrs, err := roleGrant(g, *role, *classroomID, *classroomName, *mode)
	if err != nil {
		return err
	}
	if *admin {
		g.RoomAdmin, g.RoomCreate, g.RoomList, g.RoomRecord = true, true, true, true
	}
	at := auth.NewAccessToken(*key, *secret).SetIdentity(*identity).SetName(*name).
		SetMetadata(*metadata).SetValidFor(*validFor).SetVideoGrant(g)
	if attrs != nil {
		at.SetAttributes(attrs)
	}
	jwt, err := at.ToJWT()
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	_, err = fmt.Fprintln(out, jwt)
	return err
}

// roleGrant applies a classroom role (docs/classroom-protocol.md) to g and
// returns the token attributes; with no role it changes nothing.
func roleGrant(g *auth.VideoGrant, roleName, classroomID, classroomName, modeName string) (map[string]string, error) {
	if roleName == "" {
		if classroomID != "" || classroomName != "" || modeName != "" {
			return nil, errors.New("token: --classroom, --classroom-name and --mode need --role")
		}
		return nil, nil
	}
	role, err := classroom.ParseRole(roleName)
	if err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	mode, err := classroom.ParseMode(modeName)
	if err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	attrs, err := classroom.TokenAttributes(role, classroomID, classroomName, mode)
	if err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	rg := role.Grant()
	g.CanPublish, g.CanPublishSources, g.CanSubscribe, g.CanPublishData = rg.CanPublish, rg.CanPublishSources, rg.CanSubscribe, rg.CanPublishData
	g.CanUpdateOwnMetadata, g.Hidden, g.RoomAdmin, g.RoomRecord = rg.CanUpdateOwnMetadata, rg.Hidden, rg.RoomAdmin, rg.RoomRecord
	return attrs, nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
