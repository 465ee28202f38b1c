package main

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/sepd/sepd/audio"
	"github.com/sepd/sepd/config"
	"github.com/sepd/sepd/daemon"
)

func init() { extraCommands = append(extraCommands, newRunCmd, newDevicesCmd) }

func newRunCmd() *cobra.Command {
	var path, saveFree string
	var lf logFlags
	c := &cobra.Command{
		Use:   "run -c sepd.yaml",
		Short: "the daemon: separate a device or a file in real time until stopped",
		Long: `run separates the configured input (an audio device, or a file replayed in real
time or as fast as possible) into the configured sources and sends each to its
outputs (device channels and/or WAV files) until SIGINT/SIGTERM or the end of the
input. SIGHUP (or POST /-/reload on the metrics address) re-reads the configuration
and swaps it in between two frames; an invalid file is logged and the running
configuration stays.

Exit status: 0 clean stop, 2 bad usage, configuration or device, 1 runtime failure.`,
		Args: argsError(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			if path == "" {
				return usagef("run: give the configuration with -c sepd.yaml")
			}
			cfg, err := config.Load(path)
			if err != nil {
				return usageError{err}
			}
			log, logCtl, err := lf.logger(c.ErrOrStderr(), c.Flags(), cfg.Log)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			// SIGHUP reloads the configuration (registered before the run starts:
			// unhandled, a SIGHUP would end the process).
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			reload := make(chan struct{}, 1)
			go func() {
				for {
					select {
					case <-hup:
						select {
						case reload <- struct{}{}:
						default: // one is pending already
						}
					case <-ctx.Done():
						return
					}
				}
			}()
			opts := daemon.Options{Config: cfg, Log: log, SaveFree: saveFree, Version: buildVersion(), Reload: reload}
			if logCtl != nil {
				opts.LogControl = logCtl
			}
			return daemon.Run(ctx, opts)
		},
	}
	c.Flags().StringVarP(&path, "config", "c", "", "YAML configuration file (required)")
	c.Flags().StringVar(&saveFree, "save-free", "", "at the end, save the free bases the run learned as DIR/NAME.npy")
	addLogFlags(c.Flags(), &lf)
	return c
}

func newDevicesCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "devices",
		Short: "list audio host APIs and devices",
		Args:  argsError(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			l, err := audio.ListDevices()
			if err != nil {
				return err
			}
			return l.WriteTable(c.OutOrStdout())
		},
	}
}
