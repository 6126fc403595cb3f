// compose-check validates Compose files the way `docker compose config` does, without a Docker
// engine: it loads them with compose-go, the library Docker Compose v2 is built on. That checks
// the files against the Compose Specification's JSON schema (embedded in compose-go), interpolates
// variables (from the environment and an env file), applies profiles, and checks the model's
// consistency (services named in depends_on, networks and volumes that exist, ...). Warnings
// compose-go logs (obsolete or ignored attributes) fail the check too.
//
//	go run . -f ../../docker-compose.yml -profile '*' [-env-file FILE] [-print]
//
// scripts/validate-compose.sh runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/sirupsen/logrus"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

// warnings counts what compose-go reports through logrus at warning level or above.
type warnings struct{ messages []string }

func (w *warnings) Levels() []logrus.Level {
	return []logrus.Level{logrus.PanicLevel, logrus.FatalLevel, logrus.ErrorLevel, logrus.WarnLevel}
}

func (w *warnings) Fire(e *logrus.Entry) error {
	w.messages = append(w.messages, e.Message)
	return nil
}

func main() {
	var files, profiles, envFiles list
	flag.Var(&files, "f", "Compose file (repeatable; later files override earlier ones)")
	flag.Var(&profiles, "profile", "profile to enable (repeatable; '*' enables every profile)")
	flag.Var(&envFiles, "env-file", "env file for interpolation, instead of .env beside the first file (repeatable)")
	print := flag.Bool("print", false, "print the resolved project as YAML, like `docker compose config`")
	flag.Parse()
	if len(files) == 0 || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: compose-check -f FILE [-f FILE] [-profile NAME] [-env-file FILE] [-print]")
		os.Exit(2)
	}

	hook := &warnings{}
	logrus.AddHook(hook)

	dir, err := filepath.Abs(filepath.Dir(files[0]))
	if err != nil {
		fail(err)
	}
	opts, err := cli.NewProjectOptions(files,
		cli.WithWorkingDirectory(dir),
		cli.WithOsEnv,
		cli.WithEnvFiles(envFiles...),
		cli.WithDotEnv,
		cli.WithProfiles(profiles),
		cli.WithInterpolation(true),
		cli.WithNormalization(true),
		cli.WithConsistency(true),
		cli.WithResolvedPaths(true),
	)
	if err != nil {
		fail(err)
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		fail(err)
	}
	if len(hook.messages) > 0 {
		fail(fmt.Errorf("compose-go warned: %s", strings.Join(hook.messages, "; ")))
	}

	if *print {
		out, err := project.MarshalYAML()
		if err != nil {
			fail(err)
		}
		os.Stdout.Write(out)
		return
	}
	var names []string
	for name, s := range project.Services {
		if len(s.Profiles) > 0 {
			name += " [" + strings.Join(s.Profiles, ",") + "]"
		}
		names = append(names, name)
	}
	sort.Strings(names)
	fmt.Printf("%s: valid (compose-go %s, project %q, profiles %s): %d services: %s\n",
		strings.Join(files, " + "), composeGoVersion(), project.Name, profileList(profiles), len(names), strings.Join(names, ", "))
}

func profileList(p list) string {
	if len(p) == 0 {
		return "none"
	}
	return p.String()
}

func composeGoVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, d := range info.Deps {
			if d.Path == "github.com/compose-spec/compose-go/v2" {
				return d.Version
			}
		}
	}
	return "unknown"
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "compose-check: %v\n", err)
	os.Exit(1)
}
