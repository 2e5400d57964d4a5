package store

// For the tests of package store_test, which can import store/gen.
var (
	EncodeDoc      = encodeDoc
	DecodeDoc      = decodeDoc
	CheckDecodeDoc = checkDecodeDoc
	BenchRecord    = benchRecord
)

// DecodeDocTable returns the documents of TestDecodeDocTable.
func DecodeDocTable() [][]byte {
	docs := make([][]byte, len(decodeDocTable))
	for i, tc := range decodeDocTable {
		docs[i] = []byte(tc.doc)
	}
	return docs
}
