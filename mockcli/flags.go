package main

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// config is what the command line selects.
type config struct {
	print          bool
	inputFormat    string
	outputFormat   string
	verbose        bool
	partial        bool   // --include-partial-messages
	promptTool     string // --permission-prompt-tool
	sessionID      string
	resumeID       string
	model          string
	version        bool
	permissionMode string
}

const (
	defaultModel = "claude-opus-5-5"
	cliVersion   = "2.1.332"
)

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// parseArgs accepts the real CLI's flags in both "--flag value" and
// "--flag=value" forms. Anything else is an error, so a typo in a test's
// argv fails loudly instead of silently changing behaviour.
func parseArgs(args []string) (config, error) {
	cfg := config{model: defaultModel, permissionMode: "default"}
	valued := map[string]*string{
		"--input-format":           &cfg.inputFormat,
		"--output-format":          &cfg.outputFormat,
		"--permission-prompt-tool": &cfg.promptTool,
		"--session-id":             &cfg.sessionID,
		"--resume":                 &cfg.resumeID,
		"-r":                       &cfg.resumeID,
		"--model":                  &cfg.model,
	}
	boolean := map[string]*bool{
		"-p":                         &cfg.print,
		"--print":                    &cfg.print,
		"--verbose":                  &cfg.verbose,
		"--include-partial-messages": &cfg.partial,
		"--version":                  &cfg.version,
		"-v":                         &cfg.version,
	}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		name, value, hasValue := strings.Cut(arg, "=")
		if !strings.HasPrefix(arg, "-") {
			return cfg, fmt.Errorf("unexpected argument %q (prompts are read from stdin with --input-format stream-json)", arg)
		}
		if dst, ok := boolean[name]; ok {
			if hasValue {
				return cfg, fmt.Errorf("option %s does not take a value", name)
			}
			*dst = true
			continue
		}
		dst, ok := valued[name]
		if !ok {
			return cfg, fmt.Errorf("unknown option '%s'", name)
		}
		if !hasValue {
			if i+1 >= len(args) {
				return cfg, fmt.Errorf("option '%s' argument missing", name)
			}
			i++
			value = args[i]
		}
		*dst = value
	}
	if cfg.version {
		return cfg, nil
	}
	return cfg, validate(cfg)
}

func validate(cfg config) error {
	if !cfg.print {
		return errors.New("mockcli only supports print mode: pass -p")
	}
	if cfg.inputFormat != "stream-json" {
		return fmt.Errorf("--input-format must be stream-json, got %q", cfg.inputFormat)
	}
	if cfg.outputFormat != "stream-json" {
		return fmt.Errorf("--output-format must be stream-json, got %q", cfg.outputFormat)
	}
	if !cfg.verbose {
		return errors.New("When using --print, --output-format=stream-json requires --verbose")
	}
	if cfg.promptTool != "" && cfg.promptTool != "stdio" {
		return fmt.Errorf("--permission-prompt-tool: mockcli supports only stdio, got %q", cfg.promptTool)
	}
	if cfg.sessionID != "" && cfg.resumeID != "" {
		return errors.New("--session-id can only be used with --continue or --resume if --fork-session is also specified")
	}
	if cfg.sessionID != "" && !uuidRE.MatchString(cfg.sessionID) {
		return errors.New("Invalid session ID. Must be a valid UUID.")
	}
	if cfg.resumeID != "" && !uuidRE.MatchString(cfg.resumeID) {
		return fmt.Errorf("--resume: %q is not a valid session id (UUID)", cfg.resumeID)
	}
	if cfg.model == "" {
		return errors.New("--model must not be empty")
	}
	return nil
}
