package compare

import (
	"fmt"
	"html"
	"strconv"
	"strings"
)

// LineChart is an x-y chart of lines, one per series, with a legend
// under the plot.
type LineChart struct {
	Title, Desc  string
	XUnit, YUnit string
	Lines        []Line
	// Refs draws a dashed horizontal line at each value, labelled.
	Refs []Ref
}

// Line is one series of a LineChart; Dashed draws it dashed.
type Line struct {
	Name   string
	Color  string
	Dashed bool
	Points []Point
}

// Ref is a labelled reference value.
type Ref struct {
	Value float64
	Label string
}

// Caption is the chart's title, for the document's image link.
func (c *LineChart) Caption() string { return c.Title }

const (
	linePlotLeft   = 70
	linePlotRight  = 30
	linePlotTop    = 40
	linePlotHeight = 300
	legendRow      = 18
)

// SVG renders the chart.
func (c *LineChart) SVG() []byte {
	var hiX, hiY float64
	for _, l := range c.Lines {
		for _, p := range l.Points {
			hiX, hiY = max(hiX, float64(p.Payload)), max(hiY, float64(p.RequestBytes))
		}
	}
	for _, r := range c.Refs {
		hiY = max(hiY, r.Value)
	}
	topX, stepX := niceAxis(hiX)
	topY, stepY := niceAxis(hiY)
	plotW := float64(chartWidth - linePlotLeft - linePlotRight)
	x := func(v float64) float64 { return linePlotLeft + plotW*v/topX }
	y := func(v float64) float64 { return linePlotTop + linePlotHeight*(1-v/topY) }
	bottom := float64(linePlotTop + linePlotHeight)
	legendTop := int(bottom) + 48
	height := legendTop + (len(c.Lines)+1)/2*legendRow + 10

	var b strings.Builder
	esc := html.EscapeString
	svgOpen(&b, height, c.Title, c.Desc+" "+c.dataText())
	for v := 0.0; v <= topY+stepY/2; v += stepY {
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e3e3e3"/>`+"\n", linePlotLeft, y(v), x(topX), y(v))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle" fill="#666" font-size="11">%s</text>`+"\n", linePlotLeft-6, y(v), strconv.FormatFloat(v, 'f', -1, 64))
	}
	for v := 0.0; v <= topX+stepX/2; v += stepX {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%.1f" stroke="#e3e3e3"/>`+"\n", x(v), linePlotTop, x(v), bottom)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#666" font-size="11">%s</text>`+"\n", x(v), bottom+14, strconv.FormatFloat(v, 'f', -1, 64))
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#666" font-size="11">%s</text>`+"\n", x(topX/2), bottom+30, esc(c.XUnit))
	fmt.Fprintf(&b, `<text x="14" y="%.1f" text-anchor="middle" fill="#666" font-size="11" transform="rotate(-90 14 %.1f)">%s</text>`+"\n", y(topY/2), y(topY/2), esc(c.YUnit))
	for _, r := range c.Refs {
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#c0392b" stroke-width="1.2" stroke-dasharray="5 4"/>`+"\n", linePlotLeft, y(r.Value), x(topX), y(r.Value))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end" fill="#c0392b" font-size="11">%s</text>`+"\n", x(topX)-4, y(r.Value)-4, esc(r.Label))
	}
	for i, l := range c.Lines {
		pts := make([]string, len(l.Points))
		for j, p := range l.Points {
			pts[j] = fmt.Sprintf("%.1f,%.1f", x(float64(p.Payload)), y(float64(p.RequestBytes)))
		}
		dash := ""
		if l.Dashed {
			dash = ` stroke-dasharray="6 3"`
		}
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s><title>%s</title></polyline>`+"\n", strings.Join(pts, " "), l.Color, dash, esc(l.Name))
		if n := len(l.Points); n > 0 {
			last := l.Points[n-1]
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", x(float64(last.Payload)), y(float64(last.RequestBytes)), l.Color)
		}
		lx := linePlotLeft + (i%2)*int(plotW/2)
		ly := legendTop + (i/2)*legendRow
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"%s/><text x="%d" y="%d" dominant-baseline="middle" fill="#333">%s</text>`+"\n",
			lx, ly, lx+24, ly, l.Color, dash, lx+30, ly, esc(l.Name))
	}
	b.WriteString("</svg>\n")
	return []byte(b.String())
}

// dataText is the chart's data in words: each line's first and last
// point.
func (c *LineChart) dataText() string {
	var parts []string
	for _, l := range c.Lines {
		if len(l.Points) == 0 {
			continue
		}
		first, last := l.Points[0], l.Points[len(l.Points)-1]
		parts = append(parts, fmt.Sprintf("%s: %d %s at %d %s, %d %s at %d %s", l.Name,
			first.RequestBytes, c.YUnit, first.Payload, c.XUnit, last.RequestBytes, c.YUnit, last.Payload, c.XUnit))
	}
	return strings.Join(parts, "; ") + "."
}
