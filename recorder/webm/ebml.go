package webm

import (
	"encoding/binary"
	"math"
)

// Element IDs used here (Matroska / WebM), with their marker bits.
const (
	idEBML               = 0x1A45DFA3
	idEBMLVersion        = 0x4286
	idEBMLReadVersion    = 0x42F7
	idEBMLMaxIDLength    = 0x42F2
	idEBMLMaxSizeLength  = 0x42F3
	idDocType            = 0x4282
	idDocTypeVersion     = 0x4287
	idDocTypeReadVersion = 0x4285

	idSegment      = 0x18538067
	idSeekHead     = 0x114D9B74
	idSeek         = 0x4DBB
	idSeekID       = 0x53AB
	idSeekPosition = 0x53AC

	idInfo          = 0x1549A966
	idTimecodeScale = 0x2AD7B1
	idDuration      = 0x4489
	idMuxingApp     = 0x4D80
	idWritingApp    = 0x5741

	idTracks       = 0x1654AE6B
	idTrackEntry   = 0xAE
	idTrackNumber  = 0xD7
	idTrackUID     = 0x73C5
	idTrackType    = 0x83
	idFlagLacing   = 0x9C
	idCodecID      = 0x86
	idCodecPrivate = 0x63A2
	idCodecDelay   = 0x56AA
	idSeekPreRoll  = 0x56BB
	idVideo        = 0xE0
	idPixelWidth   = 0xB0
	idPixelHeight  = 0xBA
	idAudio        = 0xE1
	idSampling     = 0xB5
	idChannels     = 0x9F

	idCues               = 0x1C53BB6B
	idCuePoint           = 0xBB
	idCueTime            = 0xB3
	idCueTrackPositions  = 0xB7
	idCueTrack           = 0xF7
	idCueClusterPosition = 0xF1

	idCluster     = 0x1F43B675
	idTimecode    = 0xE7
	idSimpleBlock = 0xA3
)

// Every size and number here has a fixed width, so an element's length
// never depends on the values it holds: the layout (cluster positions, cue
// and seek positions that point at them) is computed in one pass and the
// head can hold cues that point forward.

// putID appends an element ID (1 to 4 bytes, marker bits included).
func putID(b []byte, id uint32) []byte {
	switch {
	case id > 0xFFFFFF:
		return append(b, byte(id>>24), byte(id>>16), byte(id>>8), byte(id))
	case id > 0xFFFF:
		return append(b, byte(id>>16), byte(id>>8), byte(id))
	case id > 0xFF:
		return append(b, byte(id>>8), byte(id))
	}
	return append(b, byte(id))
}

// putSize8 appends an 8-byte EBML size.
func putSize8(b []byte, n uint64) []byte {
	b = append(b, 0x01)
	return append(b, byte(n>>48), byte(n>>40), byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// master appends a master element holding body.
func master(b []byte, id uint32, body []byte) []byte {
	b = putID(b, id)
	b = putSize8(b, uint64(len(body)))
	return append(b, body...)
}

// uintEl appends an unsigned integer element, always 8 bytes of value.
func uintEl(b []byte, id uint32, v uint64) []byte {
	b = putID(b, id)
	b = append(b, 0x88)
	return binary.BigEndian.AppendUint64(b, v)
}

// floatEl appends an 8-byte float element.
func floatEl(b []byte, id uint32, v float64) []byte {
	b = putID(b, id)
	b = append(b, 0x88)
	return binary.BigEndian.AppendUint64(b, math.Float64bits(v))
}

// bytesEl appends a string or binary element.
func bytesEl(b []byte, id uint32, v []byte) []byte {
	b = putID(b, id)
	b = putSize8(b, uint64(len(v)))
	return append(b, v...)
}

// idBytes is an element ID as the bytes a SeekID holds.
func idBytes(id uint32) []byte { return putID(nil, id) }
