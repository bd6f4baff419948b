package executor

import "github.com/weftrun/weft/weftype"

// Patched answers weft.Patched (deprecated false) and weft.DeprecatePatch
// (deprecated true) for the change id, called at src.
func Patched(x *Execution, id, src string, deprecated bool) bool {
	if x.skipPatches(id) {
		x.next(kindPatch, id, src)
		return true
	}
	if len(x.ops[x.seq]) > 0 {
		// The run's old code recorded another operation here: it passed
		// this point before the change. Nothing is journaled, so that the
		// operation matches the next call.
		if deprecated {
			x.diverged(x.seq, kindPatch, id, src)
		}
		return false
	}
	seq, _ := x.next(kindPatch, id, src)
	if !x.query {
		x.pending = append(x.pending, NewEvent(weftype.EventPatched, &Entry{Seq: seq, Name: id, Source: src}))
	}
	return true
}

// skipPatches looks at the patch markers journaled from the current
// position on. With id set, it moves to the marker of id if one of them is
// it (those before it belong to Patched calls since removed) and reports
// whether it did; with id empty, it moves past them all.
func (x *Execution) skipPatches(id string) bool {
	seq := x.seq
	for {
		ops := x.ops[seq]
		if len(ops) == 0 || ops[0].typ != weftype.EventPatched {
			break
		}
		if id != "" && ops[0].e.Name == id {
			x.seq = seq
			return true
		}
		seq++
	}
	if id == "" {
		x.seq = seq
	}
	return false
}
