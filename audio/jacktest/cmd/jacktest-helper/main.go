// Command jacktest-helper is the second JACK client that jacktest.Run starts:
// it plays a signal into the program under test and records its outputs. It
// is not meant to be run by hand.
package main

import "github.com/sepd/sepd/audio/jacktest"

func main() { jacktest.HelperMain() }
