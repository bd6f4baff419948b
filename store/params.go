package store

// The parameters of the lookups and the small writes. They follow the shape
// of every Store method: (ctx, *XxxParams).

// GetRunParams are the parameters of Store.GetRun.
type GetRunParams struct {
	// ID is the run's ID.
	ID string
}

// PendingSignalsParams are the parameters of Store.PendingSignals.
type PendingSignalsParams struct {
	// RunID is the run whose signals not consumed yet are returned.
	RunID string
}

// TimersParams are the parameters of Store.Timers.
type TimersParams struct {
	// RunID is the run whose pending timers are returned.
	RunID string
}

// SaveSnapshotParams are the parameters of Store.SaveSnapshot.
type SaveSnapshotParams struct {
	// Stream is the stream the snapshot folds. Required.
	Stream string
	// Version is the version of the stream the snapshot folds up to.
	Version int64
	// Data is the encoded state.
	Data []byte
}

// LoadSnapshotParams are the parameters of Store.LoadSnapshot.
type LoadSnapshotParams struct {
	// Stream is the stream whose latest snapshot is returned.
	Stream string
}

// GetConsumerParams are the parameters of Store.GetConsumer.
type GetConsumerParams struct {
	// Name is the consumer's name.
	Name string
}

// ResetConsumerParams are the parameters of Store.ResetConsumer.
type ResetConsumerParams struct {
	// Name is the consumer's name.
	Name string
	// Position is the position every partition's checkpoint moves to.
	Position int64
}

// ListParkedParams are the parameters of Store.ListParked.
type ListParkedParams struct {
	// Consumer is the consumer whose parked events are listed; "" lists
	// those of every consumer.
	Consumer string
}

// ParkedHistoryParams are the parameters of Store.ParkedHistory.
type ParkedHistoryParams struct {
	// Consumer is the consumer whose resolved parked events are listed; ""
	// lists those of every consumer.
	Consumer string
}
