package compare

import (
	"fmt"
	"html"
	"math"
	"slices"
	"strconv"
	"strings"
)

// The charts are hand-written SVG: horizontal bars labelled with their
// values, or lines (svgline.go), with a title and a description (the
// data in words) for screen readers. A plotting library would be a
// dependency of the library's module for the sake of a few pictures.

// Figure is a chart the report links: its SVG and its caption.
type Figure interface {
	SVG() []byte
	Caption() string
}

// Series is one set of bars of a chart, one value per category.
type Series struct {
	Name   string
	Color  string
	Values []float64
}

// Chart is a horizontal bar chart: for each category, one bar per series.
type Chart struct {
	Title, Desc string
	Unit        string // after each value label, and on the axis
	Categories  []string
	Series      []Series
	// Ref, if positive, draws a dashed vertical line at that value,
	// labelled RefLabel.
	Ref      float64
	RefLabel string
	// Clip, if positive, caps the axis: longer bars are cut at the edge,
	// marked with a break, and keep their true value label.
	Clip float64
	// Format formats a value for its label; nil means %.0f.
	Format func(float64) string
}

const (
	chartWidth  = 760
	labelWidth  = 150 // at least; more for longer category names
	valueWidth  = 110
	barHeight   = 16
	barGap      = 3
	groupGap    = 12
	headerSpace = 64
	footerSpace = 36
)

func (c *Chart) format(v float64) string {
	if c.Format != nil {
		return c.Format(v)
	}
	return fmt.Sprintf("%.0f", v)
}

// axisMax returns the axis' upper bound: a round number at or above the
// largest value drawn, and its tick step.
func (c *Chart) axisMax() (top, step float64) {
	hi := c.Ref
	for _, s := range c.Series {
		for _, v := range s.Values {
			if c.Clip > 0 {
				v = min(v, c.Clip)
			}
			hi = max(hi, v)
		}
	}
	return niceAxis(hi)
}

// niceAxis returns a round upper bound at or above hi, and a tick step
// that divides it into at most 8 steps.
func niceAxis(hi float64) (top, step float64) {
	if hi <= 0 {
		return 1, 1
	}
	mag := math.Pow(10, math.Floor(math.Log10(hi)))
	for _, m := range []float64{0.1, 0.2, 0.25, 0.5, 1, 2, 2.5, 5, 10} {
		step = m * mag
		if hi/step <= 8 {
			break
		}
	}
	return math.Ceil(hi/step) * step, step
}

// Caption is the chart's title, for the document's image link.
func (c *Chart) Caption() string { return c.Title }

// SVG renders the chart.
func (c *Chart) SVG() []byte {
	labelWidth := labelWidth
	for _, cat := range c.Categories {
		// About 6.5 pixels per character of 12-pixel Helvetica.
		labelWidth = max(labelWidth, 16+len(cat)*13/2)
	}
	plotW := float64(chartWidth - labelWidth - valueWidth)
	groupH := len(c.Series)*(barHeight+barGap) - barGap
	height := headerSpace + len(c.Categories)*(groupH+groupGap) + footerSpace
	top, step := c.axisMax()
	x := func(v float64) float64 { return float64(labelWidth) + plotW*min(v, top)/top }
	plotBottom := float64(height - footerSpace + 4)

	var b strings.Builder
	esc := html.EscapeString
	svgOpen(&b, height, c.Title, c.Desc+" "+c.dataText())
	// Legend.
	lx := float64(labelWidth)
	for _, s := range c.Series {
		fmt.Fprintf(&b, `<rect x="%.1f" y="34" width="12" height="12" fill="%s"/><text x="%.1f" y="44" fill="#333">%s</text>`+"\n", lx, s.Color, lx+16, esc(s.Name))
		lx += 16 + 7*float64(len(s.Name)) + 24
	}
	// Grid and axis labels.
	for v := 0.0; v <= top+step/2; v += step {
		gx := x(v)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%.1f" stroke="#e3e3e3"/>`+"\n", gx, headerSpace-6, gx, plotBottom)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#666" font-size="11">%s</text>`+"\n", gx, plotBottom+14, strconv.FormatFloat(v, 'f', -1, 64))
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#666" font-size="11">%s</text>`+"\n", float64(labelWidth)+plotW/2, plotBottom+28, esc(c.Unit))
	// Bars.
	y := float64(headerSpace)
	for i, cat := range c.Categories {
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle" fill="#222">%s</text>`+"\n", labelWidth-8, y+float64(groupH)/2, esc(cat))
		for _, s := range c.Series {
			v := s.Values[i]
			w := x(v) - float64(labelWidth)
			fmt.Fprintf(&b, `<rect x="%d" y="%.1f" width="%.1f" height="%d" fill="%s"><title>%s, %s: %s %s</title></rect>`+"\n",
				labelWidth, y, w, barHeight, s.Color, esc(cat), esc(s.Name), esc(c.format(v)), esc(c.Unit))
			if c.Clip > 0 && v > top {
				// A break mark where the bar leaves the axis.
				bx := x(top) - 14
				fmt.Fprintf(&b, `<path d="M%.1f %.1f l4 %d M%.1f %.1f l4 %d" stroke="#ffffff" stroke-width="2.5"/>`+"\n",
					bx, y-1, barHeight+2, bx+5, y-1, barHeight+2)
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" dominant-baseline="middle" fill="#222">%s</text>`+"\n", x(v)+5, y+barHeight/2+0.5, esc(c.format(v)))
			y += barHeight + barGap
		}
		y += groupGap - barGap
	}
	if c.Ref > 0 {
		rx := x(c.Ref)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%.1f" stroke="#c0392b" stroke-width="1.5" stroke-dasharray="5 4"/>`+"\n", rx, headerSpace-10, rx, plotBottom)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" fill="#c0392b" font-size="11">%s</text>`+"\n", rx+4, headerSpace-12, esc(c.RefLabel))
	}
	b.WriteString("</svg>\n")
	return []byte(b.String())
}

// svgOpen writes the start of a chart's SVG, chartWidth wide and height
// high: the root element, its title and description for screen readers,
// a white background and the visible title.
func svgOpen(b *strings.Builder, height int, title, desc string) {
	esc := html.EscapeString
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-labelledby="title desc" font-family="Helvetica, Arial, sans-serif" font-size="12">`+"\n",
		chartWidth, height, chartWidth, height)
	fmt.Fprintf(b, "<title id=\"title\">%s</title>\n<desc id=\"desc\">%s</desc>\n", esc(title), esc(desc))
	fmt.Fprintf(b, `<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", chartWidth, height)
	fmt.Fprintf(b, `<text x="10" y="22" font-size="15" font-weight="bold" fill="#222">%s</text>`+"\n", esc(title))
}

// dataText is the chart's data in words, for its description.
func (c *Chart) dataText() string {
	var parts []string
	for i, cat := range c.Categories {
		var vs []string
		for _, s := range c.Series {
			vs = append(vs, fmt.Sprintf("%s %s %s", s.Name, c.format(s.Values[i]), c.Unit))
		}
		parts = append(parts, cat+": "+strings.Join(vs, ", "))
	}
	return strings.Join(parts, "; ") + "."
}

// outlierClip returns an axis cap that keeps values far above the rest
// (more than four times the median) from squashing the others, or 0 if
// there are none.
func outlierClip(series []Series) float64 {
	var all []float64
	for _, s := range series {
		all = append(all, s.Values...)
	}
	if len(all) == 0 {
		return 0
	}
	slices.Sort(all)
	median := all[len(all)/2]
	var keep float64
	clipped := false
	for _, v := range all {
		if v > 4*median {
			clipped = true
		} else {
			keep = max(keep, v)
		}
	}
	if !clipped {
		return 0
	}
	return keep * 1.4
}
