# An independent RTSP camera for the pull tests: gst-rtsp-server serving
# H.264 (SPS/PPS only in the SDP, as many cameras do) and Opus at
# rtsp://admin:secret@127.0.0.1:<port>/cam. Run with /usr/bin/python3.
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

Gst.init(None)
port = sys.argv[1]

server = GstRtspServer.RTSPServer()
server.set_address("127.0.0.1")
server.set_service(port)

auth = GstRtspServer.RTSPAuth()
token = GstRtspServer.RTSPToken()
token.set_string("media.factory.role", "viewer")
auth.add_basic(GstRtspServer.RTSPAuth.make_basic("admin", "secret"), token)
server.set_auth(auth)

factory = GstRtspServer.RTSPMediaFactory()
factory.set_launch(
    "( videotestsrc is-live=true ! video/x-raw,width=320,height=240,framerate=25/1 "
    "! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=25 "
    "! rtph264pay name=pay0 pt=96 "
    "audiotestsrc is-live=true wave=sine ! audioconvert ! audioresample ! opusenc "
    "! rtpopuspay name=pay1 pt=97 )"
)
factory.set_shared(True)
factory.add_role_from_structure(
    Gst.Structure.new_from_string(
        "viewer, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"
    )
)
server.get_mount_points().add_factory("/cam", factory)
server.attach(None)
print("ready", flush=True)
GLib.MainLoop().run()
