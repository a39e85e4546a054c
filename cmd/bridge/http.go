package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func (b *bridge) mux() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("ok\n"))
	})
	m.HandleFunc("GET /readyz", b.readyz)
	m.Handle("GET /metrics", promhttp.HandlerFor(b.metrics.reg, promhttp.HandlerOpts{}))
	for path, h := range b.handlers {
		m.Handle(path, h)
	}
	return m
}

type probe struct {
	name string
	err  error
}

// probes checks every dependency: the platforms, the store, the agent binary.
func (b *bridge) probes(ctx context.Context) []probe {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	var out []probe
	for _, a := range b.adapters {
		out = append(out, probe{a.Name(), a.Ready()})
	}
	err := b.store.Healthy()
	if err == nil {
		err = b.store.Ping(ctx)
	}
	out = append(out, probe{"store", err})
	_, err = exec.LookPath(b.path)
	out = append(out, probe{"agent", err})
	return out
}

// readyz answers 200 when every probe passes and 503 naming what is
// degraded otherwise.
func (b *bridge) readyz(w http.ResponseWriter, r *http.Request) {
	status := map[string]string{}
	code := http.StatusOK
	for _, p := range b.probes(r.Context()) {
		if p.err != nil {
			status[p.name] = "degraded: " + p.err.Error()
			code = http.StatusServiceUnavailable
			continue
		}
		status[p.name] = "ok"
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(status)
}
