package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/sepd/sepd/audio"
)

func init() { extraCommands = append(extraCommands, newBridgeCmd) }

// newBridgeCmd is `sepd audio-bridge`, the child process in which `sepd run`
// keeps PortAudio (see audio.Live): hidden, because only sepd starts it, with
// its control pipe as fd 3.
func newBridgeCmd() *cobra.Command {
	var spec, probe string
	c := &cobra.Command{
		Use:    "audio-bridge --spec JSON",
		Short:  "the audio device process of sepd run (started by sepd, not by hand)",
		Hidden: true,
		Args:   argsError(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			if probe != "" {
				return audio.RunBridgeProbe(probe, c.OutOrStdout())
			}
			if spec == "" {
				return usagef("audio-bridge: --spec is required; sepd run starts this command itself")
			}
			ctl := os.NewFile(3, "control")
			if fi, err := ctl.Stat(); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
				return usagef("audio-bridge: file descriptor 3 is not a pipe; sepd run starts this command itself")
			}
			return audio.RunBridge(c.Context(), spec, c.InOrStdin(), c.OutOrStdout(), ctl, c.ErrOrStderr())
		},
	}
	c.Flags().StringVar(&spec, "spec", "", "the streams to open, as JSON (written by sepd run)")
	c.Flags().StringVar(&probe, "probe", "", "only print the default rate of a device, as JSON (written by sepd run)")
	return c
}
