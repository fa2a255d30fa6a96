package live

import (
	"encoding/json"

	"github.com/classcast/classcast/recorder"
)

// roomMetadata is the classcast part of a room's metadata:
//
//	{"classcast": {"record": true, "course": "...", "title": "...",
//	               "teacher": "...", "classroom": "...", "tags": ["..."]}}
//
// record true records the room from its first join; false turns the
// server's auto-record setting off for the room; absent leaves it.
type roomMetadata struct {
	Record    *bool    `json:"record"`
	Course    string   `json:"course"`
	Title     string   `json:"title"`
	Teacher   string   `json:"teacher"`
	Classroom string   `json:"classroom"`
	Tags      []string `json:"tags"`
}

// parseMetadata reads the classcast object; metadata that is not JSON (it
// belongs to the application) means nothing to the recorder.
func parseMetadata(md string) roomMetadata {
	var doc struct {
		Classcast roomMetadata `json:"classcast"`
	}
	if md == "" || json.Unmarshal([]byte(md), &doc) != nil {
		return roomMetadata{}
	}
	return doc.Classcast
}

func (m roomMetadata) meta() recorder.Meta {
	return recorder.Meta{Course: m.Course, Title: m.Title, Teacher: m.Teacher, Classroom: m.Classroom, Tags: m.Tags}
}
