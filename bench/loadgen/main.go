// Command loadgen is the benchmark's gRPC Check load generator for requests that differ on every
// call: the traffic stage and the soak send one CheckRequest per distinct token, round-robin.
//
// ghz cannot do that at speed: it holds its data as dynamic messages and, with 20,000
// production-shaped CheckRequests (~70 MB of JSON), spends ~9 s parsing them and then tops out
// near 1,300 Checks/s against a server that answers a constant allow, a tenth of its ceiling with
// one small message. It would measure itself, not the systems. This program takes the requests
// already encoded (gRPC frames, 5-byte prefix + protobuf, back to back in one file written by
// the harness) and sends the bytes as they are through grpc-go with a pass-through codec.
//
//   - closed loop: -concurrency calls in flight over -connections HTTP/2 connections, for
//     -seconds or -requests in total;
//   - fixed rate (-rps): calls released on schedule (open loop; at most 2,000 in flight, past
//     which sending waits and the achieved rate falls short), latency from each call's send.
//
// Every answer is checked: gRPC status OK and a CheckResponse that allows (status code 0 or
// absent, no denied_response); anything else is an error, counted by kind. Prints one JSON object
// (bench/lib.ts LoadResult: rates, counts, latency percentiles in ms) on stdout.
package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/status"
)

const method = "/envoy.service.auth.v3.Authorization/Check"
const maxInFlight = 2000

// raw is a message that is already encoded: the codec passes its bytes through.
type raw struct{ b []byte }

type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return v.(*raw).b, nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	v.(*raw).b = append(v.(*raw).b[:0], data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

var _ encoding.Codec = rawCodec{}

func varint(b []byte, at int) (uint64, int, bool) {
	var v uint64
	var shift uint
	for i := at; i < len(b) && shift < 64; i++ {
		v |= uint64(b[i]&0x7f) << shift
		if b[i]&0x80 == 0 {
			return v, i + 1, true
		}
		shift += 7
	}
	return 0, 0, false
}

// skip returns the offset past a field's value of wire type `wire` at `at`.
func skip(b []byte, at int, wire uint64) (int, bool) {
	switch wire {
	case 0:
		_, n, ok := varint(b, at)
		return n, ok
	case 1:
		return at + 8, at+8 <= len(b)
	case 2:
		l, n, ok := varint(b, at)
		return n + int(l), ok && n+int(l) <= len(b)
	case 5:
		return at + 4, at+4 <= len(b)
	}
	return 0, false
}

// allows: CheckResponse.status (field 1, google.rpc.Status) has code 0 or is absent, and
// denied_response (field 2) is absent.
func allows(m []byte) bool {
	for at := 0; at < len(m); {
		tag, n, ok := varint(m, at)
		if !ok {
			return false
		}
		field, wire := tag>>3, tag&7
		if field == 2 {
			return false
		}
		if field == 1 && wire == 2 {
			l, start, ok := varint(m, n)
			if !ok || start+int(l) > len(m) {
				return false
			}
			s := m[start : start+int(l)]
			for i := 0; i < len(s); {
				t, k, ok := varint(s, i)
				if !ok {
					return false
				}
				if t == 8 {
					code, k2, ok := varint(s, k)
					if !ok || code != 0 {
						return false
					}
					i = k2
					continue
				}
				if i, ok = skip(s, k, t&7); !ok {
					return false
				}
			}
			at = start + int(l)
			continue
		}
		if at, ok = skip(m, n, wire); !ok {
			return false
		}
	}
	return true
}

func readFrames(file string) ([][]byte, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var frames [][]byte
	for at := 0; at < len(data); {
		if at+5 > len(data) {
			return nil, fmt.Errorf("%s: truncated prefix", file)
		}
		end := at + 5 + int(binary.BigEndian.Uint32(data[at+1:]))
		if end > len(data) {
			return nil, fmt.Errorf("%s: truncated message", file)
		}
		frames = append(frames, data[at+5:end])
		at = end
	}
	if len(frames) == 0 {
		return nil, fmt.Errorf("%s: no frames", file)
	}
	return frames, nil
}

type result struct {
	TargetRps  *int           `json:"target_rps,omitempty"`
	Achieved   int            `json:"achieved_rps"`
	Requests   int            `json:"requests"`
	Errors     int            `json:"errors"`
	ErrorKinds map[string]int `json:"error_kinds,omitempty"`
	P50        float64        `json:"p50_ms"`
	P99        float64        `json:"p99_ms"`
	P999       float64        `json:"p999_ms"`
	Max        float64        `json:"max_ms"`
}

func main() {
	port := flag.Int("port", 0, "gRPC port on 127.0.0.1")
	framesFile := flag.String("frames", "", "file of back-to-back gRPC frames")
	seconds := flag.Float64("seconds", 0, "run for this long")
	requests := flag.Int("requests", 0, "or send this many")
	rps := flag.Int("rps", 0, "fixed rate (open loop); 0 = closed loop")
	concurrency := flag.Int("concurrency", 50, "closed loop: calls in flight")
	connections := flag.Int("connections", 4, "HTTP/2 connections")
	flag.Parse()
	if *port == 0 || *framesFile == "" || (*seconds <= 0 && *requests <= 0) {
		fmt.Fprintln(os.Stderr, "usage: loadgen -port P -frames FILE (-seconds S | -requests N) [-rps R]")
		os.Exit(2)
	}
	frames, err := readFrames(*framesFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	conns := make([]*grpc.ClientConn, *connections)
	for i := range conns {
		conns[i], err = grpc.NewClient(fmt.Sprintf("127.0.0.1:%d", *port),
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{}),
				grpc.MaxCallRecvMsgSize(64<<20), grpc.MaxCallSendMsgSize(64<<20)))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		conns[i].Connect()
	}

	var mu sync.Mutex
	latencies := make([]float64, 0, 1<<16)
	kinds := map[string]int{}
	errors := 0
	var next atomic.Uint64
	var deadline time.Time
	if *seconds > 0 {
		deadline = time.Now().Add(time.Duration(*seconds * float64(time.Second)))
	}
	limit := uint64(math.MaxUint64)
	if *requests > 0 {
		limit = uint64(*requests)
	}
	// take claims the next call: its index, or false when the run is over.
	take := func() (uint64, bool) {
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			return 0, false
		}
		i := next.Add(1) - 1
		return i, i < limit
	}
	call := func(i uint64) {
		in := &raw{b: frames[i%uint64(len(frames))]}
		out := &raw{}
		start := time.Now()
		err := conns[i%uint64(len(conns))].Invoke(context.Background(), method, in, out)
		elapsed := time.Since(start)
		kind := ""
		if err != nil {
			kind = status.Code(err).String() + ": " + status.Convert(err).Message()
		} else if !allows(out.b) {
			kind = "not allowed"
		}
		mu.Lock()
		if kind == "" {
			latencies = append(latencies, float64(elapsed.Nanoseconds())/1e6)
		} else {
			errors++
			kinds[kind]++
		}
		mu.Unlock()
	}

	t0 := time.Now()
	var wg sync.WaitGroup
	if *rps == 0 {
		for w := 0; w < *concurrency; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i, ok := take()
					if !ok {
						return
					}
					call(i)
				}
			}()
		}
	} else {
		slots := make(chan struct{}, maxInFlight)
		interval := time.Second / time.Duration(*rps)
	release:
		for n := 0; ; n++ {
			if d := time.Until(t0.Add(time.Duration(n) * interval)); d > 0 {
				time.Sleep(d)
			}
			i, ok := take()
			if !ok {
				break release
			}
			slots <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				call(i)
				<-slots
			}()
		}
	}
	wg.Wait()
	wall := time.Since(t0).Seconds()
	for _, c := range conns {
		c.Close()
	}

	sort.Float64s(latencies)
	at := func(q float64) float64 {
		if len(latencies) == 0 {
			return math.NaN()
		}
		i := int(math.Ceil(q*float64(len(latencies)))) - 1
		i = max(0, min(len(latencies)-1, i))
		return math.Round(latencies[i]*1000) / 1000
	}
	answered := len(latencies) + errors
	r := result{
		Achieved: int(math.Round(float64(answered) / wall)),
		Requests: answered, Errors: errors,
		P50: at(0.5), P99: at(0.99), P999: at(0.999), Max: at(1),
	}
	if *rps > 0 {
		r.TargetRps = rps
	}
	if errors > 0 {
		r.ErrorKinds = kinds
	}
	out, _ := json.Marshal(r)
	fmt.Println(string(out))
}
