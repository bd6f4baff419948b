package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/weftype"
)

// Consumer is the state of a consumer or projection, with its lag.
type Consumer struct {
	Name string `json:"name"`
	// Kind is "consumer" or "projection".
	Kind string `json:"kind"`
	// Position is the checkpoint: every event at or below it is done.
	Position int64 `json:"position"`
	// Head is the log's last position when the state was read.
	Head int64 `json:"head"`
	// Lag is Head - Position when an event the consumer has to handle waits,
	// 0 when it has handled every event matching its filters.
	Lag int64 `json:"lag"`
	// OldestUnprocessedAgeMS is the age in milliseconds of the oldest event
	// waiting for the consumer, 0 when none waits.
	OldestUnprocessedAgeMS int64 `json:"oldest_unprocessed_age_ms"`
	// Parked counts its parked events.
	Parked int `json:"parked"`
	// StopError is why the consumer stopped (the StopConsumer policy), if it did.
	StopError string `json:"stop_error,omitempty"`
	// Partitions are the consumer's partitions, by number.
	Partitions []ConsumerPartition `json:"partitions"`
	// Paused says whether an operator paused it (POST
	// /api/consumers/{name}/pause), since PausedAt.
	Paused   bool       `json:"paused"`
	PausedAt *time.Time `json:"paused_at,omitempty"`
	// Tables are a projection's view tables with their row counts, for a
	// projection registered on this server that declared them
	// (weft.ProjectionDef.Tables).
	Tables []ViewTable `json:"tables,omitempty"`
}

// ViewTable is a view table of a projection and its number of rows.
type ViewTable struct {
	Table string `json:"table"`
	Rows  int64  `json:"rows"`
}

// ConsumerPartition is one partition of a consumer.
type ConsumerPartition struct {
	Partition int `json:"partition"`
	// Position is the partition's checkpoint.
	Position int64 `json:"position"`
	// Owner is the worker running the partition, empty when none holds it.
	Owner     string `json:"owner,omitempty"`
	StopError string `json:"stop_error,omitempty"`
}

// ConsumerList is the answer of GET /api/consumers.
type ConsumerList struct {
	Consumers []Consumer `json:"consumers"`
}

// ResetRequest is the body of POST /api/consumers/{name}/reset.
type ResetRequest struct {
	// Position is the new checkpoint: the consumer goes on with the events
	// after it (0: from the start of the log). Required.
	Position *int64 `json:"position"`
}

// ParkedEvent is an event a consumer gave up on after its retries.
type ParkedEvent struct {
	Consumer string    `json:"consumer"`
	Position int64     `json:"position"`
	Stream   string    `json:"stream"`
	Type     string    `json:"type"`
	Error    string    `json:"error"`
	Attempts int       `json:"attempts"`
	ParkedAt time.Time `json:"parked_at"`
}

// ResolvedParkedEvent is a parked event that was retried or skipped, as
// the consumer's parked history keeps it.
type ResolvedParkedEvent struct {
	ParkedEvent
	// Outcome is "retried" or "skipped".
	Outcome string `json:"outcome"`
	// Reason is the operator's reason for a skip.
	Reason     string    `json:"reason,omitempty"`
	ResolvedAt time.Time `json:"resolved_at"`
}

// ParkedList is the answer of GET /api/parked and GET
// /api/consumers/{name}/parked.
type ParkedList struct {
	// Consumer is the consumer asked for; empty for every consumer.
	Consumer string        `json:"consumer,omitempty"`
	Parked   []ParkedEvent `json:"parked"`
	// History, asked for with ?history=1, lists the parked events that were
	// retried or skipped, oldest resolution first; absent otherwise.
	History []ResolvedParkedEvent `json:"history,omitempty"`
}

// RetryResponse is the answer to a successful retry of a parked event.
type RetryResponse struct {
	Consumer string `json:"consumer"`
	Position int64  `json:"position"`
	// Retried is true: the handler succeeded and the event is no longer parked.
	Retried bool `json:"retried"`
}

// MaxReasonLength is the longest reason to skip a parked event, in bytes.
const MaxReasonLength = 1024

// SkipRequest is the body of POST /api/consumers/{name}/parked/{position}/skip.
type SkipRequest struct {
	// Reason says why the event is given up on; it is kept in the
	// consumer's parked history. Required.
	Reason string `json:"reason"`
}

// SkipResponse is the answer to a successful skip of a parked event.
type SkipResponse struct {
	Consumer string `json:"consumer"`
	Position int64  `json:"position"`
	// Skipped is true: the event is no longer parked; it is in the
	// consumer's parked history with its error and the reason.
	Skipped bool `json:"skipped"`
}

// ConsumerOf is the API form of a consumer's status (also printed by `weft
// consumers ls --json`).
func ConsumerOf(s weft.ConsumerStatus) Consumer {
	c := Consumer{
		Name: s.Name, Kind: s.Kind, Position: s.Position, Head: s.Head, Lag: s.Lag,
		OldestUnprocessedAgeMS: s.OldestUnprocessedAge.Milliseconds(), Parked: s.Parked, StopError: s.StopError,
		Partitions: make([]ConsumerPartition, len(s.Partitions)), Paused: s.Paused, PausedAt: timePtr(s.PausedAt),
	}
	for i, p := range s.Partitions {
		c.Partitions[i] = ConsumerPartition{Partition: p.Partition, Position: p.Position, Owner: p.Owner, StopError: p.StopError}
	}
	return c
}

func toParked(ps []*weftype.ParkedEvent) []ParkedEvent {
	out := make([]ParkedEvent, len(ps))
	for i, p := range ps {
		out[i] = ParkedEvent{Consumer: p.Consumer, Position: p.Position, Stream: p.Stream, Type: p.Type, Error: p.Error, Attempts: p.Attempts, ParkedAt: p.ParkedAt}
	}
	return out
}

func toResolved(ps []*weftype.ResolvedParkedEvent) []ResolvedParkedEvent {
	out := make([]ResolvedParkedEvent, len(ps))
	for i, p := range ps {
		out[i] = ResolvedParkedEvent{ParkedEvent: toParked([]*weftype.ParkedEvent{&p.ParkedEvent})[0],
			Outcome: string(p.Outcome), Reason: p.Reason, ResolvedAt: p.ResolvedAt}
	}
	return out
}

// consumerName returns the validated {name} of the path, after checking that
// the store knows the consumer.
func (h *handler) consumerName(r *http.Request) (string, error) {
	name := r.PathValue("name")
	if p := checkText("name", name, MaxNameLength); p != nil {
		return "", p
	}
	if _, err := h.eng.ConsumerRecord(r.Context(), name); err != nil {
		return "", err
	}
	return name, nil
}

// consumerStatus returns the status of one consumer.
func (h *handler) consumerStatus(r *http.Request, name string) (Consumer, error) {
	all, err := h.eng.Consumers(r.Context())
	if err != nil {
		return Consumer{}, err
	}
	for _, s := range all {
		if s.Name == name {
			c := ConsumerOf(s)
			return c, h.addTables(r, &c)
		}
	}
	return Consumer{}, fmt.Errorf("consumer %q: %w", name, weftype.ErrConsumerNotFound)
}

func (h *handler) listConsumers(w http.ResponseWriter, r *http.Request) error {
	all, err := h.eng.Consumers(r.Context())
	if err != nil {
		return err
	}
	out := ConsumerList{Consumers: make([]Consumer, len(all))}
	for i, s := range all {
		out.Consumers[i] = ConsumerOf(s)
		if err := h.addTables(r, &out.Consumers[i]); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *handler) resetConsumer(w http.ResponseWriter, r *http.Request) error {
	name, err := h.consumerName(r)
	if err != nil {
		return err
	}
	var req ResetRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.Position == nil {
		return invalid("position", "position is required: the log position to go on after (0: the start of the log)")
	}
	pos := *req.Position
	head, err := h.eng.HeadPosition(r.Context())
	if err != nil {
		return err
	}
	if pos < 0 || pos > head {
		return invalid("position", "position must be from 0 to the log's head position %d, not %d", head, pos)
	}
	if err := h.eng.ResetConsumer(r.Context(), name, pos); err != nil {
		return err
	}
	return h.writeConsumer(w, r, name)
}

func (h *handler) listParked(w http.ResponseWriter, r *http.Request) error {
	return h.writeParked(w, r, "")
}

func (h *handler) listConsumerParked(w http.ResponseWriter, r *http.Request) error {
	name, err := h.consumerName(r)
	if err != nil {
		return err
	}
	return h.writeParked(w, r, name)
}

// writeParked sends the parked events of consumer ("" for all) and, with
// ?history=1, their parked history.
func (h *handler) writeParked(w http.ResponseWriter, r *http.Request, consumer string) error {
	history := false
	if v := r.URL.Query().Get("history"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return invalid("history", "history must be 1 or 0 (true or false), not %q", v)
		}
		history = b
	}
	ps, err := h.eng.ParkedEvents(r.Context(), consumer)
	if err != nil {
		return err
	}
	out := ParkedList{Consumer: consumer, Parked: toParked(ps)}
	if history {
		hs, err := h.eng.ParkedHistory(r.Context(), consumer)
		if err != nil {
			return err
		}
		out.History = toResolved(hs)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// parkedEvent is the consumer and the log position of a parked-event route.
func (h *handler) parkedEvent(r *http.Request) (string, int64, error) {
	name, err := h.consumerName(r)
	if err != nil {
		return "", 0, err
	}
	pos, err := parsePosition("position", r.PathValue("position"))
	return name, pos, err
}

func (h *handler) retryParked(w http.ResponseWriter, r *http.Request) error {
	name, pos, err := h.parkedEvent(r)
	if err != nil {
		return err
	}
	if err := h.eng.RetryParked(r.Context(), name, pos); err != nil {
		switch p := problemFor(err); {
		case errors.Is(err, weftype.ErrConsumerNotFound):
			return problem(http.StatusConflict, ProblemConsumerNotRegistered, "consumer %q is in the store but not registered on this server, which cannot run its handler", name)
		case p.Type == ProblemParkedEventNotFound, p.Status == http.StatusServiceUnavailable:
			return p
		}
		return problem(http.StatusUnprocessableEntity, ProblemRetryFailed, "the handler failed again; the event stays parked: %v", err)
	}
	writeJSON(w, http.StatusOK, RetryResponse{Consumer: name, Position: pos, Retried: true})
	return nil
}

func (h *handler) skipParked(w http.ResponseWriter, r *http.Request) error {
	name, pos, err := h.parkedEvent(r)
	if err != nil {
		return err
	}
	var req SkipRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if p := checkText("reason", req.Reason, MaxReasonLength); p != nil {
		return p
	}
	if err := h.eng.SkipParked(r.Context(), name, pos, req.Reason); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, SkipResponse{Consumer: name, Position: pos, Skipped: true})
	return nil
}

// writeConsumer answers with the consumer's status, after an operation on it.
func (h *handler) writeConsumer(w http.ResponseWriter, r *http.Request, name string) error {
	out, err := h.consumerStatus(r, name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// addTables adds the row counts of a projection registered on this server
// with declared tables.
func (h *handler) addTables(r *http.Request, c *Consumer) error {
	if c.Kind != "projection" {
		return nil
	}
	rows, err := h.eng.ProjectionRows(r.Context(), c.Name)
	if errors.Is(err, weftype.ErrConsumerNotFound) {
		return nil // registered by another process
	}
	if err != nil {
		return err
	}
	for _, t := range rows {
		c.Tables = append(c.Tables, ViewTable{Table: t.Table, Rows: t.Rows})
	}
	return nil
}
