package packetcache

import (
	"sync"
	"sync/atomic"
	"testing"
)

func BenchmarkStore(b *testing.B) {
	c := New(1024)
	pkt := packet(1, 1200)
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	var seq uint16
	for b.Loop() {
		seq++
		_, _ = c.Store(seq, uint32(seq), false, false, pkt)
	}
}

func BenchmarkGetAt(b *testing.B) {
	c := New(1024)
	pkt := packet(1, 1200)
	idx := make([]uint16, 1024)
	for k := range 1024 {
		idx[k], _ = c.Store(uint16(k), 0, false, false, pkt)
	}
	dst := make([]byte, SlotSize)
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	var k int
	for b.Loop() {
		k = (k + 1) & 1023
		c.GetAt(uint16(k), idx[k], dst)
	}
}

// BenchmarkGetInOrder measures Get without an index on a loss-free stream,
// where the computed guess finds the slot directly.
func BenchmarkGetInOrder(b *testing.B) {
	c := New(1024)
	pkt := packet(1, 1200)
	for k := range 1024 {
		_, _ = c.Store(uint16(k), 0, false, false, pkt)
	}
	dst := make([]byte, SlotSize)
	b.ReportAllocs()
	var k int
	for b.Loop() {
		k = (k + 1) & 1023
		c.Get(uint16(k), dst)
	}
}

// BenchmarkGetMiss is the worst case: a NACK for a packet no longer cached
// scans every slot.
func BenchmarkGetMiss(b *testing.B) {
	c := New(1024)
	pkt := packet(1, 1200)
	for k := range 1024 {
		_, _ = c.Store(uint16(k), 0, false, false, pkt)
	}
	dst := make([]byte, SlotSize)
	b.ReportAllocs()
	for b.Loop() {
		c.Get(30000, dst)
	}
}

// BenchmarkStoreWithConcurrentReaders is the shape of a popular stream: one
// goroutine stores while 10 subscriber writers keep reading the newest
// packets back by index (galene's BenchmarkCachePutGetAt). ns/op is per
// stored packet; reads/op says how many reads the readers fitted in
// meanwhile.
func BenchmarkStoreWithConcurrentReaders(b *testing.B) {
	c, latest := newLoadedCache()
	var stop atomic.Bool
	var wg sync.WaitGroup
	var reads atomic.Int64
	for range 10 {
		wg.Go(func() {
			dst := make([]byte, SlotSize)
			var n int64
			for !stop.Load() {
				h := latest.Load()
				c.GetAt(uint16(h>>16), uint16(h), dst)
				n++
			}
			reads.Add(n)
		})
	}
	pkt := packet(1, 1200)
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	seq := uint16(latest.Load() >> 16)
	for b.Loop() {
		seq++
		i, _ := c.Store(seq, uint32(seq), false, false, pkt)
		latest.Store(uint32(seq)<<16 | uint32(i))
	}
	stop.Store(true)
	wg.Wait()
	b.ReportMetric(float64(reads.Load())/float64(b.N), "reads/op")
}

// BenchmarkGetAtWithConcurrentWriter is the converse: 10 reader goroutines
// share b.N reads of the newest packets while one goroutine stores as fast
// as it can. ns/op is per read under contention.
func BenchmarkGetAtWithConcurrentWriter(b *testing.B) {
	c, latest := newLoadedCache()
	var stop atomic.Bool
	var wg sync.WaitGroup
	var writes atomic.Int64
	wg.Go(func() {
		pkt := packet(1, 1200)
		seq := uint16(latest.Load() >> 16)
		var n int64
		for !stop.Load() {
			seq++
			i, _ := c.Store(seq, uint32(seq), false, false, pkt)
			latest.Store(uint32(seq)<<16 | uint32(i))
			n++
		}
		writes.Add(n)
	})
	b.ReportAllocs()
	b.SetParallelism(5) // 10 goroutines on the 2-core CI machine
	b.RunParallel(func(pb *testing.PB) {
		dst := make([]byte, SlotSize)
		for pb.Next() {
			h := latest.Load()
			c.GetAt(uint16(h>>16), uint16(h), dst)
		}
	})
	stop.Store(true)
	wg.Wait()
	b.ReportMetric(float64(writes.Load())/float64(b.N), "writes/op")
}

// newLoadedCache returns a full 1024-slot cache and a handle (seq<<16|index)
// of its newest packet.
func newLoadedCache() (*Cache, *atomic.Uint32) {
	c := New(1024)
	pkt := packet(1, 1200)
	var latest atomic.Uint32
	for k := range 1024 {
		i, _ := c.Store(uint16(k), 0, false, false, pkt)
		latest.Store(uint32(k)<<16 | uint32(i))
	}
	return c, &latest
}

// BenchmarkGetAtParallel measures read contention alone: many goroutines
// reading the same cache at once.
func BenchmarkGetAtParallel(b *testing.B) {
	c := New(1024)
	pkt := packet(1, 1200)
	idx := make([]uint16, 1024)
	for k := range 1024 {
		idx[k], _ = c.Store(uint16(k), 0, false, false, pkt)
	}
	b.ReportAllocs()
	b.SetParallelism(5) // 10 goroutines on the 2-core CI machine
	b.RunParallel(func(pb *testing.PB) {
		dst := make([]byte, SlotSize)
		k := 0
		for pb.Next() {
			k = (k + 1) & 1023
			c.GetAt(uint16(k), idx[k], dst)
		}
	})
}
