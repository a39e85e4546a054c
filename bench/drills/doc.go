// Package drills holds the fault drills (make drills; also run at a small
// size by make test). Each drill drives the real bridge code through the
// in-repo fake Slack, injects one fault, prints one line saying what it did
// and what was lost, and fails if anything was. HOTLINE_DRILL_SCALE=full
// selects the full size.
package drills
