package sqlstore

import (
	"fmt"
	"slices"
	"strings"
)

// The check of an existing table: Migrate leaves a table of the store's
// name alone, whatever its columns, and a store on a table it cannot use
// would otherwise start, and fail on the first request that reads or
// writes a session. The dialects describe the table from their catalog
// as Columns and Indexes; what is wrong with it is worked out, and said,
// here (CheckTable).

// Column is a column of an existing table, as the catalog describes it.
type Column struct {
	Name      string // as the store's statements spell it: lower case
	Type      string // the catalog's data_type, lower case: "char", "longblob"
	Length    int64  // character_maximum_length; 0 for types without one
	Precision int64  // datetime_precision; 0 for types without one
	// Decl is the type as the catalog declares it, for messages:
	// "timestamp(0) with time zone". "": Type, Length and Precision.
	Decl      string
	Nullable  bool
	Collation string // "" for types without one
	// Required is set for a column that an INSERT must name: NOT NULL,
	// without a default, neither generated nor auto-incremented.
	Required bool
}

// String describes c for an error message: "varbinary(255) NOT NULL".
func (c Column) String() string {
	s := c.Decl
	switch {
	case s != "":
	case c.Length > 0:
		s = fmt.Sprintf("%s(%d)", c.Type, c.Length)
	case c.Precision > 0:
		s = fmt.Sprintf("%s(%d)", c.Type, c.Precision)
	default:
		s = c.Type
	}
	if c.Collation != "" {
		s += " COLLATE " + c.Collation
	}
	if !c.Nullable {
		s += " NOT NULL"
	}
	return s
}

// Index is an index of an existing table.
type Index struct {
	Name    string
	Unique  bool
	Columns []string // in order, lower case; a prefix of a column is "name(n)"
}

// WantColumn is what a store needs of one of its table's columns.
type WantColumn struct {
	Name string
	Want string            // as the store's schema declares it, for messages: "LONGBLOB NOT NULL"
	Fits func(Column) bool // whether the store can use the column as it is
}

// WantIndex is an index a store needs: one whose first column is Column,
// or, if Unique, a unique one on Column alone (which the store's upserts
// and its one-row-per-key invariant rest on).
type WantIndex struct {
	Column string
	Unique bool
	Want   string // as the store's schema declares it: "PRIMARY KEY (`key`)"
}

// Problems returns what keeps a store from using a table with cols and
// indexes, which needs columns and wantIdx: one sentence fragment per
// problem, none if the table fits. A column the store does not know is a
// problem only if the store's INSERTs, which name only its own columns,
// would fail for it.
func Problems(cols []Column, indexes []Index, columns []WantColumn, wantIdx []WantIndex) []string {
	var problems []string
	for _, w := range columns {
		i := slices.IndexFunc(cols, func(c Column) bool { return c.Name == w.Name })
		switch {
		case i < 0:
			problems = append(problems, fmt.Sprintf("column %s is missing (want %s)", w.Name, w.Want))
		case !w.Fits(cols[i]):
			problems = append(problems, fmt.Sprintf("column %s is %s (want %s)", w.Name, cols[i], w.Want))
		}
	}
	for _, c := range cols {
		known := slices.ContainsFunc(columns, func(w WantColumn) bool { return w.Name == c.Name })
		if !known && c.Required {
			problems = append(problems, fmt.Sprintf("column %s is NOT NULL without a default, and the store does not write it", c.Name))
		}
	}
	for _, w := range wantIdx {
		if !slices.ContainsFunc(indexes, w.fits) {
			kind := "index on"
			if w.Unique {
				kind = "unique index on exactly"
			}
			problems = append(problems, fmt.Sprintf("no %s %s (want %s)", kind, w.Column, w.Want))
		}
	}
	return problems
}

func (w WantIndex) fits(ix Index) bool {
	if w.Unique {
		return ix.Unique && slices.Equal(ix.Columns, []string{w.Column})
	}
	return len(ix.Columns) > 0 && ix.Columns[0] == w.Column
}

// CheckTable returns nil if a store that needs columns and wantIdx can
// use the existing table named table (quoted as in its statements) with
// cols and indexes, and otherwise the error IncompatibleTable makes of
// problems, what the dialect found wrong beforehand (the table's kind,
// its engine), and of what Problems finds.
func CheckTable(table string, problems []string, cols []Column, indexes []Index, columns []WantColumn, wantIdx []WantIndex) error {
	problems = append(problems, Problems(cols, indexes, columns, wantIdx)...)
	if len(problems) == 0 {
		return nil
	}
	return IncompatibleTable(table, problems)
}

// IncompatibleTable returns the error for a table that exists and that a
// store cannot use, for the problems Problems found: it names the table,
// says what is wrong, and how to fix it.
func IncompatibleTable(table string, problems []string) error {
	return fmt.Errorf("table %s exists but the store cannot use it: %s; "+
		"drop or rename that table (New then creates it as Schema shows), "+
		"or give the store another table name with WithTable",
		table, strings.Join(problems, "; "))
}
