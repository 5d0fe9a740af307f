package lab

import "time"

// SetCheckpointEvery sets how long s's trials train between checkpoints
// within a run; 0 takes one after every epoch. Call it before Run.
func SetCheckpointEvery(s *TuneStudy, d time.Duration) { s.ckptEvery = d }
