// Command sepd separates live or recorded audio into named sources with fixed NMF
// bases. See README.md for the commands; `sepd help` lists them.
//
// Exit status: 0 on success or a clean stop, 2 for bad usage, configuration or input,
// 1 for a failure at run time. A batch run (separate --manifest/--shard) exits 0 when
// every input is done or skipped, 1 when some inputs failed (the others are done),
// 2 when it could not start, 3 when SIGINT/SIGTERM stopped it before every input was
// tried.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/sepd/sepd/daemon"
	"github.com/sepd/sepd/engine"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// usageError marks errors that exit with status 2.
type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// exitCode maps an error to the documented exit status.
func exitCode(err error) int {
	var u usageError
	var se *daemon.SetupError
	var be batchExit
	switch {
	case err == nil:
		return 0
	case errors.As(err, &be):
		return be.code
	case errors.As(err, &u), errors.As(err, &se), errors.Is(err, engine.ErrInput):
		return 2
	default:
		return 1
	}
}

// run is main without the process: tests call it.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "sepd:", err)
	}
	return exitCode(err)
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "sepd",
		Short:         "real-time audio source separation with fixed NMF bases",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w (see 'sepd %s --help')", err, c.Name())}
	})
	root.AddCommand(
		newDemoCmd(),
		newSeparateCmd(),
		newVersionCmd(),
	)
	for _, c := range extraCommands {
		root.AddCommand(c())
	}
	return root
}

// extraCommands lets other files of this package register commands.
var extraCommands []func() *cobra.Command

// argsError wraps cobra's positional-argument validators so that they exit 2.
func argsError(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if err := v(c, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}
