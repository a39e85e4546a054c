package slack

import (
	"encoding/json"
	"strings"
)

// maxFileRefs bounds the file objects decoded from one event; the rest
// are only counted, so the user can be told they were not attached.
const maxFileRefs = 50

// fileRef is one file object of a message event: what the bridge needs to
// fetch it and to tell the user about it.
type fileRef struct {
	ID       string
	Name     string
	Mimetype string
	Size     int64
	Mode     string // hosted, snippet, external, tombstone…
	URL      string // url_private_download, else url_private
	Bad      string // why the metadata is unusable (then nothing is fetched)
}

type wireFile struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Title       string `json:"title"`
	Mimetype    string `json:"mimetype"`
	Size        int64  `json:"size"`
	Mode        string `json:"mode"`
	URLPrivate  string `json:"url_private"`
	URLDownload string `json:"url_private_download"`
	FileAccess  string `json:"file_access"`
}

// decodeFiles reads an event's files array leniently: a malformed entry
// becomes a fileRef marked Bad instead of failing the whole message, so
// its text still reaches the agent. It returns at most maxFileRefs refs
// and how many more there were.
func decodeFiles(raw json.RawMessage) (refs []fileRef, more int) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, 0
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return []fileRef{{Name: "an attachment", Bad: "its metadata was unreadable"}}, 0
	}
	if len(items) > maxFileRefs {
		more = len(items) - maxFileRefs
		items = items[:maxFileRefs]
	}
	for _, it := range items {
		refs = append(refs, decodeFile(it))
	}
	return refs, more
}

func decodeFile(raw json.RawMessage) fileRef {
	var w wireFile
	if err := json.Unmarshal(raw, &w); err != nil {
		return fileRef{Name: "an attachment", Bad: "its metadata was unreadable"}
	}
	f := fileRef{ID: w.ID, Name: fileName(w), Mimetype: w.Mimetype, Size: w.Size, Mode: w.Mode, URL: w.URLDownload}
	if f.URL == "" {
		f.URL = w.URLPrivate
	}
	switch {
	case w.Mode == "tombstone":
		f.Bad = "it was deleted"
	case w.Mode == "external":
		f.Bad = "it is stored outside Slack"
	case w.FileAccess == "check_file_info" || w.FileAccess == "access_denied":
		f.Bad = "Slack did not share its contents with the bot"
	case f.URL == "":
		f.Bad = "Slack gave no download address"
	case w.Size < 0:
		f.Bad = "its metadata was unreadable"
	}
	return f
}

// fileName is what the user is shown: the file's name, else its title,
// else its id, trimmed so a hostile name cannot flood the note.
func fileName(w wireFile) string {
	name := w.Name
	if name == "" {
		name = w.Title
	}
	if name == "" {
		name = w.ID
	}
	name = strings.Join(strings.Fields(name), " ")
	if name == "" {
		return "an attachment"
	}
	if r := []rune(name); len(r) > 80 {
		name = string(r[:80]) + "…"
	}
	return name
}
