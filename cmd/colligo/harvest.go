package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/colligo/colligo/harvest"
	"github.com/colligo/colligo/node"
)

// harvestOpts are the flags of harvest and sources.
type harvestOpts struct {
	id, prefix, set string
	every           time.Duration
	disabled        bool
}

func harvestFlags(fs *flag.FlagSet, o *opts) {
	fs.StringVar(&o.harvest.id, "id", "", "source id: the origin of its records (default: a registered source with this URL, else the URL's host)")
	fs.StringVar(&o.harvest.prefix, "prefix", "", "metadataPrefix whose payload is kept (default oai_dc; records are mapped from oai_dc)")
	fs.StringVar(&o.harvest.set, "set", "", "harvest only this set (setSpec)")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress line")
}

func sourcesFlags(fs *flag.FlagSet, o *opts) {
	fs.StringVar(&o.harvest.id, "id", "", "add: source id (default: the URL's host)")
	fs.StringVar(&o.harvest.prefix, "prefix", "", "add: metadataPrefix whose payload is kept (default oai_dc)")
	fs.StringVar(&o.harvest.set, "set", "", "add: harvest only this set")
	fs.DurationVar(&o.harvest.every, "every", 0, "add: harvest every so often, e.g. 1h (default: manual only)")
	fs.BoolVar(&o.harvest.disabled, "disabled", false, "add: do not schedule the source (yet)")
}

// harvestCmd runs one harvest in the foreground: on the store when the
// data directory is free, through the running node that holds it
// otherwise. It exits 0 when the harvest completed.
func harvestCmd(ctx context.Context, e *env) error {
	// Like import: a bulk writer churns through short-lived garbage.
	debug.SetGCPercent(400)
	if len(e.args) != 1 {
		return usageError("harvest needs one base URL, e.g. colligo harvest https://zenodo.org/oai2d --set user-software")
	}
	o := e.opts.harvest
	src := harvest.Source{ID: o.id, BaseURL: e.args[0], Prefix: o.prefix, Set: o.set, Enabled: true}
	if err := src.Validate(); err != nil {
		return usageError("%v", err)
	}
	l, err := node.OpenLocalBulk(e.cfg)
	if err != nil {
		return err
	}
	defer l.Close()
	pp := newProgress(e.stderr, e.opts.quiet)
	progress := func(r harvest.Result) { pp.print(progressLine(r)) }
	var res *harvest.Result
	if l.Store != nil {
		h, err := node.LocalHarvester(e.cfg, l.Store, e.log)
		if err != nil {
			return err
		}
		defer h.Close()
		src = pickSource(h.Sources(), src, o.id != "")
		res, err = h.HarvestOnce(ctx, src, harvest.RunOptions{Progress: progress})
		pp.done()
		h.Close()
		// The store was opened for a bulk load: closing it flushes what
		// the harvest wrote (see node.OpenLocalBulk).
		if cerr := l.Close(); cerr != nil && err == nil {
			err = cerr
		}
		printHarvestResult(e, res, err)
		if err != nil {
			return &exitError{1, err}
		}
		return nil
	}
	srcs, err := l.Client.Sources(ctx)
	if err != nil {
		return err
	}
	src = pickSource(srcs, src, o.id != "")
	res, err = l.Client.Harvest(ctx, src, progress)
	pp.done()
	printHarvestResult(e, res, err)
	if err != nil {
		return &exitError{1, err}
	}
	return nil
}

// pickSource gives an ad hoc source the id of a registered source with
// the same URL, prefix and set, so that it continues that source's
// checkpoint; otherwise the default id.
func pickSource(known []harvest.SourceStatus, src harvest.Source, idGiven bool) harvest.Source {
	src = src.WithDefaults()
	if idGiven {
		return src
	}
	for _, k := range known {
		if k.BaseURL == src.BaseURL && k.Prefix == src.Prefix && k.Set == src.Set {
			src.ID = k.ID
			return src
		}
	}
	return src
}

func progressLine(r harvest.Result) string {
	of := ""
	if r.CompleteListSize > 0 {
		of = fmt.Sprintf(" of about %d", r.CompleteListSize)
	}
	return fmt.Sprintf("harvest %s: %d pages, %d records%s (%.0f/s): %d added, %d updated, %d unchanged, %d deleted, %d rejected",
		r.Source, r.Pages, r.Records, of, r.Rate, r.Added, r.Updated, r.Unchanged, r.Deleted, r.Rejected)
}

func printHarvestResult(e *env, res *harvest.Result, err error) {
	if res == nil {
		return
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(e.stderr, "warning: %s\n", w)
	}
	for i, re := range res.Errors {
		if i == 10 {
			fmt.Fprintf(e.stderr, "and %d more rejected records\n", res.Rejected-10)
			break
		}
		fmt.Fprintf(e.stderr, "rejected %s (%s line %d): %s\n", re.Identifier, re.URL, re.Line, re.Error)
	}
	state := "complete"
	if err != nil {
		state = "incomplete"
	}
	fmt.Fprintf(e.stdout, "harvested %s (%s, %s) in %s: %d records in %d pages, %d added, %d updated, %d unchanged, %d deleted, %d rejected (%.0f records/s)\n",
		res.Source, res.Mode, state, (time.Duration(res.Seconds * float64(time.Second))).Round(time.Millisecond),
		res.Records, res.Pages, res.Added, res.Updated, res.Unchanged, res.Deleted, res.Rejected, res.Rate)
}

// sourcesCmd lists sources (a table), adds one or removes one, on the
// store or through the running node.
func sourcesCmd(ctx context.Context, e *env) error {
	action := "list"
	if len(e.args) > 0 {
		action = e.args[0]
	}
	switch {
	case action == "list" && len(e.args) <= 1:
	case action == "add" && len(e.args) == 2:
	case action == "remove" && len(e.args) == 2:
	default:
		return usageError("use: colligo sources | colligo sources add URL [--id ID] [--prefix P] [--set S] [--every 1h] | colligo sources remove ID")
	}
	o := e.opts.harvest
	src := harvest.Source{ID: o.id, Prefix: o.prefix, Set: o.set, Every: o.every, Enabled: !o.disabled}
	if action == "add" {
		src.BaseURL = e.args[1]
		if err := src.Validate(); err != nil {
			return usageError("%v", err)
		}
	}
	l, err := node.OpenLocal(e.cfg)
	if err != nil {
		return err
	}
	defer l.Close()
	var h *harvest.Harvester
	if l.Store != nil {
		if h, err = node.LocalHarvester(e.cfg, l.Store, e.log); err != nil {
			return err
		}
		defer h.Close()
	}
	switch action {
	case "add":
		var added harvest.Source
		if h != nil {
			added, err = h.AddSource(ctx, src)
		} else {
			var st harvest.SourceStatus
			st, err = l.Client.AddSource(ctx, src)
			added = st.Source
		}
		if errors.Is(err, harvest.ErrSourceExists) {
			return &exitError{1, fmt.Errorf("%w; choose another with --id", err)}
		}
		if err != nil {
			return err
		}
		every := "manual only"
		if added.Every > 0 {
			every = "every " + added.Every.String()
		}
		fmt.Fprintf(e.stdout, "added source %s: %s (%s%s), %s\n", added.ID, added.BaseURL, added.Prefix, setText(added.Set), every)
		return nil
	case "remove":
		if h != nil {
			err = h.RemoveSource(ctx, e.args[1])
		} else {
			err = l.Client.RemoveSource(ctx, e.args[1])
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "removed source %s (its records stay)\n", e.args[1])
		return nil
	}
	var list []harvest.SourceStatus
	if h != nil {
		list = h.Sources()
	} else if list, err = l.Client.Sources(ctx); err != nil {
		return err
	}
	writeSources(e.stdout, list)
	return nil
}

func setText(set string) string {
	if set == "" {
		return ""
	}
	return ", set " + set
}

// writeSources prints the sources as a table.
func writeSources(w io.Writer, list []harvest.SourceStatus) {
	if len(list) == 0 {
		fmt.Fprintln(w, "no sources; add one with: colligo sources add URL [--every 1h]")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tBASE URL\tPREFIX\tSET\tEVERY\tLAST SUCCESS\tLAST RUN (added/updated/deleted/rejected, seconds)\tNEXT RUN\tLAST ERROR")
	ts := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	}
	for _, s := range list {
		every := "manual"
		if s.Every > 0 {
			every = s.Every.String()
		}
		if !s.Enabled {
			every += " (disabled)"
		}
		set := s.Set
		if set == "" {
			set = "-"
		}
		run := "-"
		if !s.Status.LastStart.IsZero() {
			run = fmt.Sprintf("%d/%d/%d/%d, %.1fs", s.Status.Added, s.Status.Updated, s.Status.Deleted, s.Status.Rejected, s.Status.Seconds)
		}
		if s.Status.Running {
			run = "running"
		}
		lastErr := "-"
		if s.Status.LastError != "" && s.Status.LastErrorAt.After(s.Status.LastSuccess) {
			lastErr = ts(s.Status.LastErrorAt) + ": " + s.Status.LastError
			if len(lastErr) > 160 {
				lastErr = lastErr[:160] + "..."
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.BaseURL, s.Prefix, set, every,
			ts(s.Status.LastSuccess), run, ts(s.Status.NextRun), strings.ReplaceAll(lastErr, "\t", " "))
	}
	tw.Flush()
}
