package kept

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestAccountBudgetPushesOutOnlyItsOwn(t *testing.T) {
	s := New(Limits{MaxEntries: 1000, AccountEntries: 100, MaxBytes: 1 << 20, AccountBytes: 1 << 20})
	if err := s.Put("bob", "b", "bob's", 50, 10, time.Hour); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if err := s.Put("alice", fmt.Sprint(i), i, 40, 10, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := s.Get("alice", "0"); ok {
		t.Error("alice's oldest is kept over her budget")
	}
	if v, ok := s.Get("alice", "9"); !ok || v != 9 {
		t.Errorf("alice's newest: %v %v", v, ok)
	}
	if _, ok := s.Get("bob", "b"); !ok {
		t.Error("alice's items pushed out bob's")
	}
	if _, ok := s.Get("bob", "9"); ok {
		t.Error("bob reads alice's item")
	}
	total, _, ae, _ := s.Usage("alice")
	if ae > 100 || total != ae+50 {
		t.Errorf("usage: %d in all, alice %d", total, ae)
	}
	if err := s.Put("alice", "huge", nil, 101, 1, time.Hour); !errors.Is(err, ErrOverBudget) {
		t.Errorf("an item over the account's budget: %v", err)
	}
}

func TestGlobalBudgetAndTTL(t *testing.T) {
	s := New(Limits{MaxEntries: 1000, AccountEntries: 1000, MaxBytes: 300, AccountBytes: 200})
	for i := 0; i < 5; i++ {
		if err := s.Put(fmt.Sprint("user", i), "x", i, 1, 100, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if _, b, _, _ := s.Usage(""); b > 300 {
		t.Errorf("%d bytes kept, over the global 300", b)
	}
	if _, ok := s.Get("user0", "x"); ok {
		t.Error("the least recently used account's item is kept over the global budget")
	}
	if _, ok := s.Get("user4", "x"); !ok {
		t.Error("the newest item was dropped")
	}
	if err := s.Put("user4", "short", 1, 1, 1, -time.Second); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Get("user4", "short"); ok {
		t.Error("an expired item is returned")
	}
}
