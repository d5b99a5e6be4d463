package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// jobWire is a Job as stored: short keys, because every queued job carries them.
type jobWire struct {
	ID       string    `json:"i"`
	Kind     string    `json:"k,omitempty"`
	Key      string    `json:"s,omitempty"`
	Payload  []byte    `json:"p,omitempty"`
	Attempt  int       `json:"a"`
	Enqueued time.Time `json:"e"`
}

func encodeJob(j Job) []byte {
	b, err := json.Marshal(jobWire(j))
	if err != nil {
		// Strings, bytes, ints and a time only fail for a year outside
		// [0,9999], which prepare never produces.
		panic(fmt.Sprintf("store: encode job %q: %v", j.ID, err))
	}
	return b
}

func decodeJob(b []byte) (Job, error) {
	var w jobWire
	if err := json.Unmarshal(b, &w); err != nil {
		return Job{}, fmt.Errorf("decode job: %w", err)
	}
	if w.ID == "" {
		return Job{}, errors.New("decode job: no id")
	}
	if w.Attempt < 1 {
		return Job{}, fmt.Errorf("decode job %q: attempt %d", w.ID, w.Attempt)
	}
	if len(w.Payload) == 0 {
		w.Payload = nil // "p":"" and no "p" are the same job
	}
	return Job(w), nil
}

type deadWire struct {
	Job   json.RawMessage `json:"j"`
	Cause string          `json:"c"`
	At    time.Time       `json:"t"`
}

func encodeDead(d DeadLetter) []byte {
	b, err := json.Marshal(deadWire{Job: encodeJob(d.Job), Cause: d.Cause, At: d.At})
	if err != nil {
		panic(fmt.Sprintf("store: encode dead letter %q: %v", d.Job.ID, err))
	}
	return b
}

func decodeDead(b []byte) (DeadLetter, error) {
	var w deadWire
	if err := json.Unmarshal(b, &w); err != nil {
		return DeadLetter{}, fmt.Errorf("decode dead letter: %w", err)
	}
	j, err := decodeJob(w.Job)
	if err != nil {
		return DeadLetter{}, fmt.Errorf("decode dead letter: %w", err)
	}
	return DeadLetter{Job: j, Cause: w.Cause, At: w.At}, nil
}
