package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/colligo/colligo/ld/vocab"
	"github.com/colligo/colligo/node"
)

func vocabCommand() *command {
	return &command{name: "vocab", summary: "concept schemes: vocab load FILE [--id ID] [--field F], vocab list, vocab unmapped",
		args: "load FILE | list | unmapped", flags: vocabFlags, run: vocabCmd}
}

func vocabFlags(fs *flag.FlagSet, o *opts) {
	fs.StringVar(&o.vocabID, "id", "", "scheme id (default: from the file name)")
	fs.StringVar(&o.vocabField, "field", vocab.FieldSubject, "record field the concepts map: subject, type or access_rights")
	fs.StringVar(&o.format, "format", "", "turtle, ntriples or rdfxml (default: from the file name)")
}

func vocabCmd(ctx context.Context, e *env) error {
	if len(e.args) == 0 {
		return usageError("vocab needs a sub-command: load FILE, list or unmapped")
	}
	switch e.args[0] {
	case "load":
		if len(e.args) != 2 {
			return usageError("vocab load needs one FILE")
		}
		return vocabLoad(ctx, e, e.args[1])
	case "list":
		return vocabList(ctx, e)
	case "unmapped":
		return vocabUnmapped(ctx, e)
	}
	return usageError("unknown vocab sub-command %q: use load, list or unmapped", e.args[0])
}

func vocabLoad(ctx context.Context, e *env, path string) error {
	format := vocab.Format(e.opts.format)
	if format == "" {
		var ok bool
		if format, ok = vocab.FormatOf(path); !ok {
			return usageError("cannot tell the format of %s: give --format turtle|ntriples|rdfxml", path)
		}
	}
	id := e.opts.vocabID
	if id == "" {
		id = vocab.IDFromName(path)
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	l, err := node.OpenLocal(e.cfg)
	if err != nil {
		return err
	}
	defer l.Close()
	if l.Client != nil {
		q := url.Values{"id": {id}, "field": {e.opts.vocabField}, "format": {string(format)}, "name": {filepath.Base(path)}}
		var out struct {
			Scheme    vocab.SchemeInfo `json:"scheme"`
			Changed   bool             `json:"changed"`
			Remapping bool             `json:"remapping"`
		}
		if err := l.Client.Stream(ctx, http.MethodPost, "/api/vocab/schemes?"+q.Encode(), f, 0, func(b []byte) error {
			return json.Unmarshal(b, &out)
		}); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "scheme %s: %d concepts (%s)", out.Scheme.ID, out.Scheme.Concepts, out.Scheme.Field)
		if !out.Changed {
			fmt.Fprintln(e.stdout, ", unchanged")
		} else {
			fmt.Fprintln(e.stdout, ", loaded; the node is re-mapping its records in the background")
		}
		return nil
	}
	pp := newProgress(e.stderr, false)
	svc := vocab.NewService(l.Vocab, l.Store, e.cfg.BaseURL, e.log, nil)
	sch, changed, err := svc.Load(ctx, f, format, id, e.opts.vocabField)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "scheme %s: %d concepts (%s)", sch.ID, len(sch.Concepts), sch.Field)
	if !changed {
		fmt.Fprintln(e.stdout, ", unchanged")
		return nil
	}
	fmt.Fprintln(e.stdout, ", loaded")
	done, n, err := l.Store.Rederive(ctx, func(done, changed int64) {
		pp.print(fmt.Sprintf("re-mapping: %d records, %d changed", done, changed))
	})
	pp.done()
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "re-mapped %d records, %d changed\n", done, n)
	return nil
}

func vocabList(ctx context.Context, e *env) error {
	l, err := node.OpenLocal(e.cfg)
	if err != nil {
		return err
	}
	defer l.Close()
	var infos []vocab.SchemeInfo
	if l.Client != nil {
		var out struct {
			Schemes []vocab.SchemeInfo `json:"schemes"`
		}
		if err := l.Client.JSON(ctx, http.MethodGet, "/api/vocab", nil, &out); err != nil {
			return err
		}
		infos = out.Schemes
	} else {
		svc := vocab.NewService(l.Vocab, l.Store, e.cfg.BaseURL, nil, nil)
		for _, s := range l.Vocab.Schemes() {
			infos = append(infos, svc.Info(s))
		}
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tFIELD\tCONCEPTS\tHASH\tTITLE")
	for _, s := range infos {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.12s\t%s\n", s.ID, s.Field, s.Concepts, s.Hash, s.Title)
	}
	return tw.Flush()
}

func vocabUnmapped(ctx context.Context, e *env) error {
	l, err := node.OpenLocal(e.cfg)
	if err != nil {
		return err
	}
	defer l.Close()
	if l.Client == nil {
		return fmt.Errorf("unmapped values are counted by a running node: start it with colligo serve")
	}
	var out struct {
		Sources []struct {
			Source string                `json:"source"`
			Values []vocab.UnmappedValue `json:"values"`
		} `json:"sources"`
	}
	if err := l.Client.JSON(ctx, http.MethodGet, "/api/vocab/unmapped", nil, &out); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tFIELD\tRECORDS\tVALUE")
	for _, s := range out.Sources {
		for _, v := range s.Values {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", s.Source, v.Field, v.Records, v.Value)
		}
	}
	return tw.Flush()
}
