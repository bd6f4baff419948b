package weftkafka

import "github.com/twmb/franz-go/pkg/kerr"

// kerrOf is the error of a Kafka error code, nil for none.
func kerrOf(code int16) error { return kerr.ErrorForCode(code) }
