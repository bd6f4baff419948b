package booking

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/weftrun/weft"
	"github.com/weftrun/weft/store"
	"github.com/weftrun/weft/weftype"
)

// ViewProjection is the name of the bookings view's projection; its table is
// bookings_view.
const ViewProjection = "bookings-view"

// ViewRow is one booking as the bookings view shows it.
type ViewRow struct {
	ID       string
	Client   string
	Concert  string
	Seats    []string
	Status   Status
	Total    Money
	Deadline time.Time // zero before confirmation
	// Version is the booking's stream version the row reflects.
	Version int64
}

// ErrNotInView is returned by Bookings.View for a booking the view lacks.
var ErrNotInView = errors.New("booking: not in the bookings view")

func registerView(e *weft.Engine) {
	weft.RegisterProjection(e, weft.ProjectionDef{
		Name:         ViewProjection,
		StreamPrefix: weftype.StreamName(EntityName, ""),
		Setup: func(ctx context.Context, tx store.Tx) error {
			if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS bookings_view (
				id       TEXT PRIMARY KEY,
				client   TEXT NOT NULL,
				concert  TEXT NOT NULL,
				seats    TEXT NOT NULL,
				status   TEXT NOT NULL,
				total    BIGINT NOT NULL DEFAULT 0,
				deadline BIGINT NOT NULL DEFAULT 0,
				version  BIGINT NOT NULL)`); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `CREATE INDEX IF NOT EXISTS bookings_view_due ON bookings_view (status, deadline)`)
			return err
		},
		Handle: func(ctx context.Context, tx store.Tx, ev weftype.Event) error {
			return applyToView(ctx, e, tx, ev)
		},
		Reset: func(ctx context.Context, tx store.Tx) error {
			_, err := tx.ExecContext(ctx, `DELETE FROM bookings_view`)
			return err
		},
	})
}

// applyToView applies one booking event to its row. The projection commits
// the row and its checkpoint together, so it runs once per event.
func applyToView(ctx context.Context, e *weft.Engine, tx store.Tx, ev weftype.Event) error {
	id := IDOf(ev)
	set := func(query string, args ...any) error {
		_, err := tx.ExecContext(ctx, `UPDATE bookings_view SET `+query+`, version = ? WHERE id = ?`, append(args, ev.Version, id)...)
		return err
	}
	switch ev.Type {
	case TypePlaced:
		p, err := weft.Decode[BookingPlaced](e, ev)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO bookings_view (id, client, concert, seats, status, version) VALUES (?, ?, ?, ?, ?, ?)`,
			id, p.Client, p.Concert, strings.Join(p.Seats, ","), string(StatusPlaced), ev.Version)
		return err
	case TypeConfirmed:
		c, err := weft.Decode[BookingConfirmed](e, ev)
		if err != nil {
			return err
		}
		return set(`status = ?, total = ?, deadline = ?`, string(StatusConfirmed), int64(c.Total), c.Deadline.UnixMilli())
	case TypeDenied:
		return set(`status = ?`, string(StatusDenied))
	case TypeCancelled:
		return set(`status = ?`, string(StatusCancelled))
	case TypePaid:
		return set(`status = ?`, string(StatusPaid))
	case TypeSettled:
		return set(`status = ?`, string(StatusSettled))
	case TypeExpired:
		return set(`status = ?`, string(StatusExpired))
	}
	return nil
}

// DueForExpiry returns the IDs of the bookings that the view shows confirmed
// and unpaid with a deadline before now, oldest deadline first.
func (b *Bookings) DueForExpiry(ctx context.Context, now time.Time) ([]string, error) {
	var ids []string
	err := b.eng.ReadView(ctx, func(ctx context.Context, tx store.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id FROM bookings_view WHERE status = ? AND deadline < ? ORDER BY deadline, id`,
			string(StatusConfirmed), now.UnixMilli())
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return rows.Err()
	})
	return ids, err
}

const viewColumns = `id, client, concert, seats, status, total, deadline, version`

func scanRow(sc interface{ Scan(...any) error }) (ViewRow, error) {
	var r ViewRow
	var seats, status string
	var total, deadline int64
	if err := sc.Scan(&r.ID, &r.Client, &r.Concert, &seats, &status, &total, &deadline, &r.Version); err != nil {
		return r, err
	}
	r.Seats = strings.Split(seats, ",")
	r.Status, r.Total = Status(status), Money(total)
	if deadline != 0 {
		r.Deadline = time.UnixMilli(deadline).UTC()
	}
	return r, nil
}

// View returns booking id's row of the bookings view, or ErrNotInView.
func (b *Bookings) View(ctx context.Context, id string) (ViewRow, error) {
	var r ViewRow
	err := b.eng.ReadView(ctx, func(ctx context.Context, tx store.Tx) error {
		var err error
		r, err = scanRow(tx.QueryRowContext(ctx, `SELECT `+viewColumns+` FROM bookings_view WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: %s", ErrNotInView, id)
		}
		return err
	})
	return r, err
}

// ListView returns the rows of the bookings view with the given status (all
// rows for ""), by ID.
func (b *Bookings) ListView(ctx context.Context, status Status) ([]ViewRow, error) {
	var out []ViewRow
	err := b.eng.ReadView(ctx, func(ctx context.Context, tx store.Tx) error {
		q, args := `SELECT `+viewColumns+` FROM bookings_view`, []any{}
		if status != StatusNew {
			q, args = q+` WHERE status = ?`, append(args, string(status))
		}
		rows, err := tx.QueryContext(ctx, q+` ORDER BY id`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanRow(rows)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	return out, err
}
