package main

import (
	"io"
	"os"
	"strings"

	"github.com/sirupsen/logrus"
)

// newLogger returns a logrus logger: JSON unless asked for text or writing
// to a terminal, with every configured secret redacted from messages and
// fields.
func newLogger(cfg Config, w io.Writer) (*logrus.Logger, error) {
	log := logrus.New()
	log.SetOutput(w)
	lvl, err := logrus.ParseLevel(cfg.LogLevel)
	if err != nil {
		return nil, err
	}
	log.SetLevel(lvl)
	format := cfg.LogFormat
	if format == "" {
		format = "json"
		if f, ok := w.(*os.File); ok && isTerminal(f) {
			format = "text"
		}
	}
	if format == "text" {
		log.SetFormatter(&logrus.TextFormatter{FullTimestamp: true})
	} else {
		log.SetFormatter(&logrus.JSONFormatter{})
	}
	log.AddHook(newRedactor(cfg.Secrets()))
	return log, nil
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// redactor replaces secrets in log entries before they are formatted.
type redactor struct{ r *strings.Replacer }

func newRedactor(secrets []string) *redactor {
	var pairs []string
	for _, s := range secrets {
		if len(s) >= 6 { // shorter values would redact ordinary words
			pairs = append(pairs, s, "[REDACTED]")
		}
	}
	if len(pairs) == 0 {
		return &redactor{}
	}
	return &redactor{r: strings.NewReplacer(pairs...)}
}

func (h *redactor) Levels() []logrus.Level { return logrus.AllLevels }

func (h *redactor) Fire(e *logrus.Entry) error {
	if h.r == nil {
		return nil
	}
	e.Message = h.r.Replace(e.Message)
	for k, v := range e.Data {
		switch x := v.(type) {
		case string:
			e.Data[k] = h.r.Replace(x)
		case error:
			e.Data[k] = h.r.Replace(x.Error())
		}
	}
	return nil
}
