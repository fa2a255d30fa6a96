#!/bin/sh
# Regenerates the small test media committed next to this script.
# Same content (ffmpeg testsrc2, 5 s, 25 fps, keyframe every 25 frames) at three simulcast sizes,
# as VP8 IVF and H.264 baseline Annex-B, plus a 5 s 440 Hz Opus Ogg at 48 kHz.
# Needs: ffmpeg with libvpx, libx264 and libopus (Debian: apt-get install ffmpeg).
set -eu
cd "$(dirname "$0")"
gen() { # size name vp8rate h264rate
	ffmpeg -hide_banner -loglevel error -y -f lavfi -i "testsrc2=size=$1:rate=25" -t 5 \
		-c:v libvpx -b:v "$3" -g 25 -keyint_min 25 -deadline realtime -cpu-used 8 -auto-alt-ref 0 \
		-pix_fmt yuv420p "vp8_$2.ivf"
	ffmpeg -hide_banner -loglevel error -y -f lavfi -i "testsrc2=size=$1:rate=25" -t 5 \
		-c:v libx264 -profile:v baseline -level 3.1 -preset veryfast -tune zerolatency -b:v "$4" \
		-g 25 -keyint_min 25 -sc_threshold 0 -bsf:v h264_mp4toannexb -pix_fmt yuv420p -f h264 "h264_$2.h264"
}
gen 320x180 180p 150k 150k
gen 640x360 360p 500k 500k
gen 1280x720 720p 1500k 1500k
ffmpeg -hide_banner -loglevel error -y -f lavfi -i "sine=frequency=440:sample_rate=48000" -t 5 \
	-c:a libopus -b:a 32k -ar 48000 -ac 2 -page_duration 20000 opus_48k.ogg
