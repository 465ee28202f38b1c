package audio

// SetLiveLossEvery makes every Live.Read lose one captured frame in every n
// (0: none), silently, to prove that a test catches it. It returns a
// function that restores the previous setting.
func SetLiveLossEvery(n int64) (restore func()) {
	prev := lossEvery.Swap(n)
	return func() { lossEvery.Store(prev) }
}
