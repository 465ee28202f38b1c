//go:build pipewire

// Command pw-cycles prints every graph cycle that PipeWire's profiler
// (module-profiler, which the packaged pipewire.conf loads) reports, of every
// driver, one line per cycle, until it gets SIGINT or SIGTERM:
//
//	driver-id driver-name nsec duration rate prev-signal signal awake finish status [follower-id name signal awake finish status]...
//
// tab-separated; nsec, prev-signal, signal, awake and finish are
// CLOCK_MONOTONIC nanoseconds (nsec the cycle's time on the driver's clock),
// duration the quantum in frames at rate Hz, status a node's activation
// status (3: finished). jacktest.WatchPipeWire reads it. pw-profiler (package
// pipewire-bin) logs only the first driver it hears from, and without the
// times, so a graph that another driver runs beside (the Dummy-Driver of an
// idle JACK client) goes unwatched.
//
// It needs libpipewire's headers (package libpipewire-0.3-dev) and is built
// with -tags pipewire.
package main

// #cgo pkg-config: libpipewire-0.3
// #include <stdio.h>
// #include <string.h>
// #include <pipewire/pipewire.h>
// #include <pipewire/impl.h>
// #include <pipewire/extensions/profiler.h>
// #include <spa/param/profiler.h>
// #include <spa/pod/iter.h>
// #include <spa/pod/parser.h>
//
// struct cycles {
// 	struct pw_main_loop *loop;
// 	struct pw_context *context;
// 	struct pw_core *core;
// 	struct pw_registry *registry;
// 	struct spa_hook registry_listener, profiler_listener;
// 	struct pw_proxy *profiler;
// };
//
// static void clean(char *s) { for (; *s; s++) if (*s == '\t' || *s == '\n') *s = ' '; }
//
// static void on_profile(void *data, const struct spa_pod *pod)
// {
// 	struct spa_pod *o;
// 	SPA_POD_STRUCT_FOREACH(pod, o) {
// 		struct spa_pod_prop *p;
// 		char line[8192];
// 		int n = 0, ok = 0;
// 		char head[1024] = "", follow[7000] = "";
// 		if (!spa_pod_is_object_type(o, SPA_TYPE_OBJECT_Profiler))
// 			continue;
// 		int64_t nsec = 0, duration = 0;
// 		struct spa_fraction rate = { 0, 0 };
// 		SPA_POD_OBJECT_FOREACH((struct spa_pod_object *)o, p) {
// 			int32_t id = 0, status = 0;
// 			const char *name = NULL;
// 			int64_t prev = 0, signal = 0, awake = 0, finish = 0;
// 			int32_t flags = 0, cid = 0;
// 			const char *cname = NULL;
// 			int64_t position = 0, delay = 0, next = 0;
// 			double diff = 0;
// 			char nm[256];
// 			switch (p->key) {
// 			case SPA_PROFILER_clock:
// 				spa_pod_parse_struct(&p->value, SPA_POD_Int(&flags), SPA_POD_Int(&cid),
// 					SPA_POD_String(&cname), SPA_POD_Long(&nsec), SPA_POD_Fraction(&rate),
// 					SPA_POD_Long(&position), SPA_POD_Long(&duration), SPA_POD_Long(&delay),
// 					SPA_POD_Double(&diff), SPA_POD_Long(&next));
// 				break;
// 			case SPA_PROFILER_driverBlock:
// 				if (spa_pod_parse_struct(&p->value, SPA_POD_Int(&id), SPA_POD_String(&name),
// 					SPA_POD_Long(&prev), SPA_POD_Long(&signal), SPA_POD_Long(&awake),
// 					SPA_POD_Long(&finish), SPA_POD_Int(&status)) < 0)
// 					break;
// 				snprintf(nm, sizeof(nm), "%s", name ? name : "");
// 				clean(nm);
// 				snprintf(head, sizeof(head), "%d\t%s\t%ld\t%ld\t%u\t%ld\t%ld\t%ld\t%ld\t%d",
// 					id, nm, (long)nsec, (long)duration, rate.denom, (long)prev, (long)signal,
// 					(long)awake, (long)finish, status);
// 				ok = 1;
// 				break;
// 			case SPA_PROFILER_followerBlock:
// 				if (spa_pod_parse_struct(&p->value, SPA_POD_Int(&id), SPA_POD_String(&name),
// 					SPA_POD_Long(&prev), SPA_POD_Long(&signal), SPA_POD_Long(&awake),
// 					SPA_POD_Long(&finish), SPA_POD_Int(&status)) < 0)
// 					break;
// 				snprintf(nm, sizeof(nm), "%s", name ? name : "");
// 				clean(nm);
// 				if (n < (int)sizeof(follow) - 300)
// 					n += snprintf(follow + n, sizeof(follow) - n, "\t%d\t%s\t%ld\t%ld\t%ld\t%d",
// 						id, nm, (long)signal, (long)awake, (long)finish, status);
// 				break;
// 			}
// 		}
// 		if (!ok)
// 			continue;
// 		snprintf(line, sizeof(line), "%s%s\n", head, follow);
// 		fputs(line, stdout);
// 	}
// 	fflush(stdout);
// }
//
// static const struct pw_profiler_events profiler_events = {
// 	PW_VERSION_PROFILER_EVENTS,
// 	.profile = on_profile,
// };
//
// static void on_global(void *data, uint32_t id, uint32_t permissions, const char *type,
// 	uint32_t version, const struct spa_dict *props)
// {
// 	struct cycles *c = data;
// 	if (strcmp(type, PW_TYPE_INTERFACE_Profiler) != 0 || c->profiler != NULL)
// 		return;
// 	c->profiler = pw_registry_bind(c->registry, id, type, PW_VERSION_PROFILER, 0);
// 	if (c->profiler == NULL) {
// 		fprintf(stderr, "pw-cycles: binding the profiler failed\n");
// 		pw_main_loop_quit(c->loop);
// 		return;
// 	}
// 	pw_proxy_add_object_listener(c->profiler, &c->profiler_listener, &profiler_events, c);
// 	fprintf(stderr, "pw-cycles: attached to profiler %u\n", id);
// }
//
// static const struct pw_registry_events registry_events = {
// 	PW_VERSION_REGISTRY_EVENTS,
// 	.global = on_global,
// };
//
// static int run(void)
// {
// 	static struct cycles c;
// 	pw_init(NULL, NULL);
// 	c.loop = pw_main_loop_new(NULL);
// 	if (c.loop == NULL)
// 		return 1;
// 	c.context = pw_context_new(pw_main_loop_get_loop(c.loop), NULL, 0);
// 	if (c.context == NULL)
// 		return 1;
// 	// The profiler's protocol (what pw-profiler loads too).
// 	pw_context_load_module(c.context, "libpipewire-module-profiler", NULL, NULL);
// 	c.core = pw_context_connect(c.context, NULL, 0);
// 	if (c.core == NULL) {
// 		fprintf(stderr, "pw-cycles: cannot connect to PipeWire\n");
// 		return 1;
// 	}
// 	c.registry = pw_core_get_registry(c.core, PW_VERSION_REGISTRY, 0);
// 	pw_registry_add_listener(c.registry, &c.registry_listener, &registry_events, &c);
// 	pw_main_loop_run(c.loop);
// 	return 1;
// }
import "C"

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	done := make(chan int, 1)
	go func() { done <- int(C.run()) }()
	select {
	case <-sig:
		C.fflush(C.stdout)
		os.Exit(0)
	case code := <-done:
		os.Exit(code)
	}
}
