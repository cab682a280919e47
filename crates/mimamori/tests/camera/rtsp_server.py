#!/usr/bin/python3
# Copied from the project's shared testcam tool (shared/testcam/rtsp_server.py): the
# simulated cameras our integration tests start and stop by PID (tests/it/camera.rs).
# -*- coding: utf-8 -*-
"""
rtsp_server.py - synthetic multi-camera RTSP server for NVR/recorder tests.

Built only from Debian 12 packages: GStreamer 1.22 + gst-rtsp-server through
PyGObject. Run it with Debian's interpreter, /usr/bin/python3: the `gi`
module (python3-gi) and the GstRtspServer typelib exist only for that
interpreter, not for a pyenv/venv python that may be first on PATH.

Mounts: rtsp://BIND:PORT/cam1 ... /camN (prefix changeable with --prefix).
Each mount is "shared": all clients of /camK see the same encoder output,
like a real camera; the pipeline is built when the first client connects
and torn down when the last one leaves.

Sources (--source)
  live : videotestsrc (moving SMPTE bars) + clockoverlay ("camK" + wall-clock
         time), encoded in real time by x264enc (or x265enc). One encoder per
         mount that has clients: costs CPU (see --preset).
  file : a pre-encoded MP4 clip (H.264 or H.265, optional AAC) is demuxed ONCE
         at start-up into memory; every mount pushes these encoded access units
         through an appsrc in an endless loop with ever-increasing timestamps.
         No decoding or encoding at all: ~0.5 % of a core per stream.

Audio (--audio): aac (voaacenc live / AAC track of the clip) or pcma
(G.711 A-law 8 kHz, live only) as a second RTP stream.

Fault injection, for reconnect / watchdog tests
  SIGUSR1          : close every RTSP client connection now (server stays up).
  SIGUSR2          : toggle "stall": sessions stay open but no media flows
                     (RTCP and RTSP keep-alives still answered).
  --kick-every S   : close every client connection every S seconds.
  --eos-after S    : every stream ends (EOS -> RTCP BYE) S seconds after its
                     pipeline started; the next connection gets a new stream.
  SIGTERM          : exit (then start again = camera reboot, "connection
                     refused" in between).
  --max-seconds S  : exit by itself after S seconds (0 = run until killed).
  --protocols      : tcp | udp | both (which RTP transports are offered).
  --user/--password/--auth digest|basic : require RTSP authentication.

Example
  /usr/bin/python3 rtsp_server.py --port 8554 --streams 4
  ffprobe rtsp://127.0.0.1:8554/cam1
"""
import argparse
import os
import signal
import sys
import time

try:
    import gi
except ImportError:
    sys.exit("rtsp_server.py: no 'gi' module in %s - run it with Debian's "
             "/usr/bin/python3 (apt-get install python3-gi "
             "gir1.2-gst-rtsp-server-1.0)" % sys.executable)

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402


def log(*a):
    print("[rtsp_server %s]" % time.strftime("%H:%M:%S"), *a, flush=True)


# ---------------------------------------------------------------------------
# --source file: load all encoded frames of the clip into memory, once.
# ---------------------------------------------------------------------------
class Track:
    """Encoded access units of one elementary stream of the clip."""

    def __init__(self, caps, frames):
        self.caps = caps      # Gst.Caps for the appsrc (AAC: includes codec_data)
        self.frames = frames  # list of (Gst.Buffer, pts_ns, duration_ns)


def _pull_all(launch):
    """Run a demux pipeline (appsink named 's') as fast as possible."""
    pipe = Gst.parse_launch(launch)
    sink = pipe.get_by_name("s")
    pipe.set_state(Gst.State.PLAYING)
    frames, caps = [], None
    while True:
        sample = sink.emit("try-pull-sample", 10 * Gst.SECOND)  # None at EOS
        if sample is None:
            break
        buf = sample.get_buffer()
        caps = caps or sample.get_caps()
        pts = buf.pts if buf.pts != Gst.CLOCK_TIME_NONE else buf.dts
        frames.append((buf, pts, buf.duration))
    err = pipe.get_bus().pop_filtered(Gst.MessageType.ERROR)
    pipe.set_state(Gst.State.NULL)
    if err is not None:
        raise SystemExit("loading clip failed: %s" % err.parse_error()[0].message)
    if not frames:
        raise SystemExit("no frames found by: " + launch)
    return Track(caps, frames)


def load_clip(path, codec, with_audio):
    if not os.path.isfile(path):
        raise SystemExit("clip not found: %s" % path)
    parse = "h264parse" if codec == "h264" else "h265parse"
    # config-interval=-1 puts SPS/PPS(/VPS) in front of every IDR, so a client
    # joining a shared stream can start decoding at the next keyframe.
    video = _pull_all(
        'filesrc location="%s" ! qtdemux ! %s config-interval=-1 ! '
        "video/x-%s,stream-format=byte-stream,alignment=au ! "
        "appsink name=s sync=false" % (path, parse, codec))
    t0 = video.frames[0][1]
    last = video.frames[-1]
    clip_len = last[1] + (last[2] if last[2] != Gst.CLOCK_TIME_NONE else 0) - t0
    video.frames = [(b, p - t0, d) for (b, p, d) in video.frames]
    if video.frames[0][0].has_flags(Gst.BufferFlags.DELTA_UNIT):
        raise SystemExit("clip must start with a keyframe")
    audio = None
    if with_audio:
        audio = _pull_all(
            'filesrc location="%s" ! qtdemux name=d d.audio_0 ! aacparse ! '
            "audio/mpeg,stream-format=raw ! appsink name=s sync=false" % path)
        # keep audio inside the video loop so consecutive loops never overlap
        audio.frames = [(b, p - t0, d) for (b, p, d) in audio.frames
                        if 0 <= p - t0 < clip_len]
    log("clip %s: %d video frames, %.2f s loop%s" % (
        path, len(video.frames), clip_len / Gst.SECOND,
        ", %d AAC frames" % len(audio.frames) if audio else ""))
    return video, audio, clip_len


BATCH_NS = 200 * 1000 * 1000   # file source: push ~200 ms of frames per need-data


class LoopFeeder:
    """Feeds one appsrc from a Track in an endless loop (one per media).

    appsrc runs with format=time, is-live=false: the RTSP server's sinks sync
    on the timestamps, so frames leave at real-time pace (like test-appsrc.c
    of gst-rtsp-server)."""

    def __init__(self, track, clip_len, server):
        self.track, self.clip_len, self.server = track, clip_len, server
        self.idx, self.offset = 0, 0
        self.last_pts = 0
        self.stall_t0 = None

    def need_data(self, src, _length):
        if self.server.stalled:
            # frozen camera: push nothing, look again in 50 ms
            if self.stall_t0 is None:
                self.stall_t0 = time.monotonic()
            GLib.timeout_add(50, self._retry, src)
            return
        if self.stall_t0 is not None:
            # resume like a camera would: current time, next keyframe
            target = self.last_pts + int((time.monotonic() - self.stall_t0) * Gst.SECOND)
            self.stall_t0 = None
            frames = self.track.frames
            while frames[self.idx][0].has_flags(Gst.BufferFlags.DELTA_UNIT):
                self._advance()
            nxt = frames[self.idx][1] + self.offset
            if nxt < target:
                self.offset += target - nxt
        # push >= BATCH_NS worth of frames per callback: fewer Python calls
        # (matters for AAC: ~47 frames/s); the sinks still pace in real time
        first = self.last_pts
        while True:
            buf, pts, dur = self.track.frames[self.idx]
            out = buf.copy()                   # shallow: shares the payload memory
            out.pts = out.dts = self.last_pts = pts + self.offset
            out.duration = dur
            self._advance()
            src.emit("push-buffer", out)
            if self.last_pts - first >= BATCH_NS:
                break

    def _advance(self):
        self.idx += 1
        if self.idx == len(self.track.frames):
            self.idx, self.offset = 0, self.offset + self.clip_len

    def _retry(self, src):
        if src.get_state(0)[1] in (Gst.State.PAUSED, Gst.State.PLAYING):
            self.need_data(src, 0)
        return False


# ---------------------------------------------------------------------------
# Media factory: one per mount
# ---------------------------------------------------------------------------
class CamFactory(GstRtspServer.RTSPMediaFactory):
    def __init__(self, server, name, launch):
        super().__init__()
        self.server, self.name = server, name
        self.set_launch(launch)
        self.set_shared(True)
        self.set_protocols(server.protocols)
        self.connect("media-configure", self.on_media_configure)

    def on_media_configure(self, _factory, media):
        srv = self.server
        bin_ = media.get_element()
        srv.medias.append(media)
        media.connect("unprepared", srv.on_media_unprepared)
        for name, track in (("vsrc", srv.video_track), ("asrc", srv.audio_track)):
            src = bin_.get_by_name(name)
            if src is None or track is None:
                continue
            src.set_property("caps", track.caps)
            src.set_property("format", Gst.Format.TIME)
            src.set_property("is-live", False)
            src.connect("need-data", LoopFeeder(track, srv.clip_len, srv).need_data)
        if srv.opts.eos_after > 0:
            GLib.timeout_add(int(srv.opts.eos_after * 1000), self._send_eos, media)
        log("/%s: stream started (first client connected)" % self.name)

    def _send_eos(self, media):
        if media in self.server.medias:
            log("/%s: fault: EOS, stream ends" % self.name)
            media.get_element().send_event(Gst.Event.new_eos())
        return False


def build_launch(opts, idx):
    """gst-launch description of camera `idx`; payloaders must be pay0/pay1."""
    gop = max(1, int(round(opts.fps * opts.gop_seconds)))
    pay = "rtp%spay name=pay0 pt=96 config-interval=-1" % opts.codec
    if opts.source == "file":
        video = "appsrc name=vsrc ! " + pay     # encoded AUs from memory
    else:
        src = ("videotestsrc is-live=true %s ! "
               "video/x-raw,width=%d,height=%d,framerate=%d/1 ! "
               "clockoverlay text=%s%d shaded-background=true font-desc=\"Sans 28\" "
               "time-format=\"%%Y-%%m-%%d %%H:%%M:%%S\" ! "
               # valve = SIGUSR2 stall switch; leaky queue decouples encoder
               "valve name=stall drop=false ! queue max-size-buffers=2 leaky=downstream"
               % (opts.pattern, opts.width, opts.height, opts.fps, opts.prefix, idx))
        if opts.codec == "h264":
            enc = ("x264enc tune=zerolatency speed-preset=%s bitrate=%d key-int-max=%d "
                   "threads=%d" % (opts.preset, opts.bitrate, gop, opts.threads))
            if opts.profile != "auto":
                enc += " ! video/x-h264,profile=%s" % opts.profile
        else:
            enc = ("x265enc tune=zerolatency speed-preset=%s bitrate=%d key-int-max=%d "
                   "! video/x-h265,profile=main" % (opts.preset, opts.bitrate, gop))
        video = "%s ! %s ! %s" % (src, enc, pay)
    audio = ""
    if opts.audio == "aac":
        if opts.source == "file":
            audio = " appsrc name=asrc ! rtpmp4gpay name=pay1 pt=97"
        else:
            audio = (" audiotestsrc is-live=true wave=sine freq=%d volume=0.2 ! "
                     "audio/x-raw,rate=48000,channels=1 ! valve name=stall_a drop=false ! "
                     "audioconvert ! voaacenc bitrate=64000 ! rtpmp4gpay name=pay1 pt=97"
                     % (400 + 100 * idx))
    elif opts.audio == "pcma":
        audio = (" audiotestsrc is-live=true wave=sine freq=%d volume=0.2 ! "
                 "audio/x-raw,rate=8000,channels=1 ! valve name=stall_a drop=false ! "
                 "audioconvert ! alawenc ! rtppcmapay name=pay1 pt=8" % (400 + 100 * idx))
    return "( %s%s )" % (video, audio)


class Server:
    def __init__(self, opts):
        self.opts = opts
        self.medias = []
        self.stalled = False
        self.video_track = self.audio_track = None
        self.clip_len = 0
        self.protocols = {
            "tcp": GstRtsp.RTSPLowerTrans.TCP,
            "udp": GstRtsp.RTSPLowerTrans.UDP,
            "both": GstRtsp.RTSPLowerTrans.TCP | GstRtsp.RTSPLowerTrans.UDP,
        }[opts.protocols]
        if opts.source == "file":
            self.video_track, self.audio_track, self.clip_len = load_clip(
                opts.file, opts.codec, opts.audio == "aac")

        self.rtsp = GstRtspServer.RTSPServer()
        self.rtsp.set_address(opts.bind)
        self.rtsp.set_service(str(opts.port))
        self.rtsp.set_backlog(64)
        if opts.user:
            self.rtsp.set_auth(self._make_auth())
        mounts = self.rtsp.get_mount_points()
        for i in range(1, opts.streams + 1):
            launch = build_launch(opts, i)
            f = CamFactory(self, "%s%d" % (opts.prefix, i), launch)
            if opts.user:
                perms = GstRtspServer.RTSPPermissions()
                for perm in (GstRtspServer.RTSP_PERM_MEDIA_FACTORY_ACCESS,
                             GstRtspServer.RTSP_PERM_MEDIA_FACTORY_CONSTRUCT):
                    perms.add_permission_for_role("user", perm, True)
                f.set_permissions(perms)
            mounts.add_factory("/%s%d" % (opts.prefix, i), f)
            if i == 1:
                log("pipeline of /%s1: %s" % (opts.prefix, launch))

    def _make_auth(self):
        """Digest (what most IP cameras ask for) or Basic. PyGObject cannot
        OR the two GstRTSPAuthMethod enum values, so it is one or the other."""
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "user")
        if self.opts.auth == "digest":
            auth.add_digest(self.opts.user, self.opts.password, token)
            auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
        else:
            auth.add_basic(GstRtspServer.RTSPAuth.make_basic(
                self.opts.user, self.opts.password), token)
            auth.set_supported_methods(GstRtsp.RTSPAuthMethod.BASIC)
        return auth

    def on_media_unprepared(self, media):
        if media in self.medias:
            self.medias.remove(media)

    # -- faults ------------------------------------------------------------
    def kick_clients(self, *_a):
        n = [0]

        def _remove(_server, _client, *_u):
            n[0] += 1
            return GstRtspServer.RTSPFilterResult.REMOVE
        self.rtsp.client_filter(_remove)
        log("fault: closed %d client connection(s)" % n[0])
        return True  # keep the signal handler / periodic timer

    def toggle_stall(self, *_a):
        self.stalled = not self.stalled
        for m in list(self.medias):           # live: valves before the encoders
            for name in ("stall", "stall_a"):  # (file: the feeders check .stalled)
                valve = m.get_element().get_by_name(name)
                if valve is not None:
                    valve.set_property("drop", self.stalled)
        log("fault: stall %s" % ("ON (no media flows)" if self.stalled else "OFF"))
        return True

    def run(self):
        loop = GLib.MainLoop()
        if self.rtsp.attach(None) == 0:
            log("ERROR: cannot listen on %s:%d" % (self.opts.bind, self.opts.port))
            sys.exit(2)

        def quit_(*_a):
            loop.quit()
            return False
        for sig in (signal.SIGINT, signal.SIGTERM):
            GLib.unix_signal_add(GLib.PRIORITY_HIGH, sig, quit_)
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGUSR1, self.kick_clients)
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGUSR2, self.toggle_stall)
        if self.opts.kick_every > 0:
            GLib.timeout_add(int(self.opts.kick_every * 1000), self.kick_clients)
        if self.opts.max_seconds > 0:
            GLib.timeout_add(int(self.opts.max_seconds * 1000),
                             lambda: (log("max-seconds reached, exiting"), quit_())[1])
        o = self.opts
        log("ready: rtsp://%s:%d/%s1 .. /%s%d pid=%d codec=%s source=%s audio=%s "
            "protocols=%s auth=%s" % (o.bind, o.port, o.prefix, o.prefix, o.streams,
                                      os.getpid(), o.codec, o.source, o.audio,
                                      o.protocols, o.auth if o.user else "none"))
        loop.run()
        log("exiting")


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=8554)
    p.add_argument("--bind", default="127.0.0.1")
    p.add_argument("--streams", type=int, default=1, help="mounts /cam1 .. /camN")
    p.add_argument("--prefix", default="cam", help="mount name prefix (default: cam)")
    p.add_argument("--codec", choices=["h264", "h265"], default="h264")
    p.add_argument("--source", choices=["live", "file"], default="live")
    p.add_argument("--file", help="pre-encoded MP4 clip for --source file")
    p.add_argument("--audio", choices=["none", "aac", "pcma"], default="none")
    p.add_argument("--protocols", choices=["both", "tcp", "udp"], default="both")
    p.add_argument("--width", type=int, default=1280)
    p.add_argument("--height", type=int, default=720)
    p.add_argument("--fps", type=int, default=15)
    p.add_argument("--bitrate", type=int, default=2000, help="kbit/s (live)")
    p.add_argument("--gop-seconds", type=float, default=2.0, help="keyframe interval (live)")
    p.add_argument("--preset", default=None,
                   help="x264/x265 speed preset (default: superfast for h264 = High "
                        "profile; ultrafast for h265). h264 ultrafast = Constrained "
                        "Baseline, ~35%% cheaper")
    p.add_argument("--profile", default="auto", help="H.264 profile caps (live)")
    p.add_argument("--threads", type=int, default=1, help="x264 threads per stream")
    p.add_argument("--pattern", default="pattern=smpte horizontal-speed=2",
                   help="videotestsrc properties (live)")
    p.add_argument("--user", help="require RTSP authentication for this user")
    p.add_argument("--password", default="")
    p.add_argument("--auth", choices=["digest", "basic"], default="digest")
    p.add_argument("--kick-every", type=float, default=0)
    p.add_argument("--eos-after", type=float, default=0)
    p.add_argument("--max-seconds", type=float, default=0)
    opts = p.parse_args()
    if opts.source == "file" and not opts.file:
        p.error("--source file needs --file CLIP.mp4")
    if opts.source == "file" and opts.audio == "pcma":
        p.error("--audio pcma needs --source live (the clip carries AAC)")
    if opts.preset is None:
        opts.preset = "superfast" if opts.codec == "h264" else "ultrafast"
    if opts.profile == "auto" and opts.codec == "h264" and opts.preset != "ultrafast":
        opts.profile = "high"
    Gst.init(None)
    Server(opts).run()


if __name__ == "__main__":
    main()
