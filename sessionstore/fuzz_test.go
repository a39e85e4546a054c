package sessionstore

import (
	"bytes"
	"testing"
	"time"
)

// FuzzDecodeRecord: stored bytes are outside input (other versions, hand
// edits, a shared Redis). Decoding must not panic, and whatever decodes
// must be a valid record that survives a round trip.
func FuzzDecodeRecord(f *testing.F) {
	good, err := encodeRecord(mkRecord("slack:T1:C1:1.2", time.Unix(1712345678, 100), StateWarm))
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range [][]byte{
		good, nil, []byte("{}"), []byte("null"), []byte("{not json"),
		[]byte(`{"key":"k","state":"hot","last_active":"2024-01-01T00:00:00Z"}`),
		[]byte(`{"key":"k","state":"idle","last_active":"2024-01-01T00:00:00Z","turns":-3}`),
		[]byte(`{"key":"k","state":"reset","last_active":"9999-12-31T23:59:59Z"}`),
		[]byte(`{"key":"k","state":"warm","last_active":"2024-01-01T00:00:00Z","turns":1e40}`),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := decodeRecord(b)
		if err != nil {
			return
		}
		if err := validateRecord(rec); err != nil {
			t.Fatalf("decoded an invalid record: %v", err)
		}
		again, err := encodeRecord(rec)
		if err != nil && len(b) <= maxRecordBytes {
			t.Fatalf("re-encode: %v", err)
		}
		if err != nil {
			return
		}
		back, err := decodeRecord(again)
		if err != nil {
			t.Fatalf("decode of re-encoded record: %v", err)
		}
		if err := sameRecord(back, rec); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzIndexKey: bbolt index keys are read back from the file. Parsing any
// bytes must not panic; a parsed key re-encodes to the same bytes, and
// the encoding orders by time.
func FuzzIndexKey(f *testing.F) {
	f.Add(indexKey(time.Unix(1712345678, 5), "slack:T:C:1"), int64(0), int64(1), "k")
	f.Add([]byte{}, int64(-1), int64(1), "")
	f.Add([]byte{1, 2, 3}, int64(-1<<62), int64(1<<62), "discord:dm:C:T")
	f.Fuzz(func(t *testing.T, raw []byte, a, b int64, key string) {
		if ts, k, ok := parseIndexKey(raw); ok && !bytes.Equal(indexKey(ts, k), raw) {
			t.Fatalf("parse/encode of %x is not the identity", raw)
		}
		ta, tb := time.Unix(0, a), time.Unix(0, b)
		ka, kb := indexKey(ta, key), indexKey(tb, key)
		if (a < b) != (bytes.Compare(ka, kb) < 0) {
			t.Fatalf("order of %d and %d not kept", a, b)
		}
		if key == "" {
			return
		}
		ts, k, ok := parseIndexKey(ka)
		if !ok || ts.UnixNano() != a || k != key {
			t.Fatalf("round trip of (%d, %q) gave (%d, %q, %v)", a, key, ts.UnixNano(), k, ok)
		}
	})
}
