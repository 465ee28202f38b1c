package audio

// SetLiveLossEvery makes every Live.Read lose one captured frame in every n
// (0: none), silently, to prove that a test catches it. It returns a
// function that restores the previous setting.
func SetLiveLossEvery(n int64) (restore func()) {
	prev := lossEvery.Swap(n)
	return func() { lossEvery.Store(prev) }
}

// PrimedLevel is how many frames p's ring held when its playback last
// started (primed): the prefill, or more when a burst of writes reached the
// ring between two callbacks, which then stays as lag.
func PrimedLevel(p *Playback) int { return int(p.cur.primedLevel.Load()) }
