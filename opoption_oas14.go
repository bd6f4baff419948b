package weft

// OpOption is an option of an operator's operation (pause, resume,
// erase, and the run operations): who did it and why, for the audit.
//
// Merge note: the run operations define the same type; keep one
// definition, with opOptionsOf reading it.
type OpOption func(*opOptions)

type opOptions struct{ reason, actor string }

// Reason records why the operation was done.
func Reason(r string) OpOption { return func(o *opOptions) { o.reason = r } }

// Actor records who did the operation (the API passes its token's name).
func Actor(a string) OpOption { return func(o *opOptions) { o.actor = a } }

func opOptionsOf(opts []OpOption) opOptions {
	var o opOptions
	for _, f := range opts {
		f(&o)
	}
	return o
}
