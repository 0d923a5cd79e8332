#include "ringside/net/http_syntax.h"

#include <gtest/gtest.h>

#include <string>

namespace ringside::net {
namespace {

using Result = CrlfLineScanner::Result;

TEST(HttpSyntaxTest, TokensAreNonEmptyRunsOfTchar) {
  EXPECT_TRUE(IsToken("GET"));
  EXPECT_TRUE(IsToken("x-Custom_Header.1~!#$%&'*+^`|"));
  EXPECT_FALSE(IsToken(""));
  EXPECT_FALSE(IsToken("a b"));
  EXPECT_FALSE(IsToken("a:b"));
  EXPECT_FALSE(IsToken("a\"b"));
  EXPECT_FALSE(IsToken("caf\xc3\xa9"));
}

TEST(HttpSyntaxTest, TrimOwsRemovesSpacesAndTabsAtBothEnds) {
  EXPECT_EQ(TrimOws(" \t a b \t"), "a b");
  EXPECT_EQ(TrimOws(" \t "), "");
}

TEST(HttpSyntaxTest, EqualsIgnoreCaseFoldsAsciiOnly) {
  EXPECT_TRUE(EqualsIgnoreCase("Content-Length", "content-LENGTH"));
  EXPECT_FALSE(EqualsIgnoreCase("host", "hosts"));
  EXPECT_FALSE(EqualsIgnoreCase("\xc9", "\xe9"));
}

TEST(HttpSyntaxTest, FieldLineSplitsNameAndTrimmedValue) {
  std::string_view name, value;
  ASSERT_TRUE(SplitFieldLine("Host: \texample.com \t", &name, &value));
  EXPECT_EQ(name, "Host");
  EXPECT_EQ(value, "example.com");
  ASSERT_TRUE(SplitFieldLine("X-Empty:", &name, &value));
  EXPECT_EQ(value, "");
  ASSERT_TRUE(SplitFieldLine("X-Tab: a\tb \x80\xff", &name, &value));
  EXPECT_EQ(value, "a\tb \x80\xff");
}

TEST(HttpSyntaxTest, FieldLineRejectsBadNamesAndControlCharacters) {
  std::string_view name, value;
  EXPECT_FALSE(SplitFieldLine("no colon", &name, &value));
  EXPECT_FALSE(SplitFieldLine(": empty name", &name, &value));
  EXPECT_FALSE(SplitFieldLine("Host : space before colon", &name, &value));
  EXPECT_FALSE(SplitFieldLine(" Host: leading space", &name, &value));
  EXPECT_FALSE(SplitFieldLine(std::string_view("X: a\0b", 6), &name, &value));
  EXPECT_FALSE(SplitFieldLine("X: a\x01", &name, &value));
  EXPECT_FALSE(SplitFieldLine("X: a\x7f", &name, &value));
}

TEST(HttpSyntaxTest, ScannerReturnsCrlfLinesOneByOne) {
  CrlfLineScanner lines;
  std::string_view line;
  const std::string_view input = "ab\r\n\r\ncd";
  ASSERT_EQ(lines.Next(input, 100, &line), Result::kLine);
  EXPECT_EQ(line, "ab");
  ASSERT_EQ(lines.Next(input, 100, &line), Result::kLine);
  EXPECT_EQ(line, "");
  EXPECT_EQ(lines.line_start(), 6u);
  EXPECT_EQ(lines.Next(input, 100, &line), Result::kNeedMore);
}

TEST(HttpSyntaxTest, ScannerWaitsForTheByteAfterCr) {
  CrlfLineScanner lines;
  std::string_view line;
  EXPECT_EQ(lines.Next("ab\r", 100, &line), Result::kNeedMore);
  // The same bytes at another address, plus the LF.
  const std::string moved = "ab\r\n";
  ASSERT_EQ(lines.Next(moved, 100, &line), Result::kLine);
  EXPECT_EQ(line, "ab");
  EXPECT_EQ(line.data(), moved.data());
}

TEST(HttpSyntaxTest, ScannerRejectsBareLf) {
  CrlfLineScanner lines;
  std::string_view line;
  EXPECT_EQ(lines.Next("ab\ncd\r\n", 100, &line), Result::kBareCrOrLf);
}

TEST(HttpSyntaxTest, ScannerRejectsBareCr) {
  CrlfLineScanner lines;
  std::string_view line;
  EXPECT_EQ(lines.Next("ab\rcd\r\n", 100, &line), Result::kBareCrOrLf);
}

TEST(HttpSyntaxTest, ScannerReportsTooLongBeforeTheLineEnds) {
  CrlfLineScanner lines;
  std::string_view line;
  EXPECT_EQ(lines.Next("abcd", 4, &line), Result::kNeedMore);
  EXPECT_EQ(lines.Next("abcde", 4, &line), Result::kTooLong);
  CrlfLineScanner exact;
  EXPECT_EQ(exact.Next("abcd\r\n", 4, &line), Result::kLine);
}

// The scanner looks at 16 bytes at a time where it can: a line end or a bare CR or LF must
// be found at every position of a block and in the bytes after the last whole block.
TEST(HttpSyntaxTest, ScannerFindsLineEndsAndBareCrOrLfAtEveryPosition) {
  for (size_t n = 0; n < 40; ++n) {
    const std::string text(n, 'a');
    CrlfLineScanner lines;
    std::string_view line;
    const std::string crlf = text + "\r\n" + std::string(20, 'b');
    ASSERT_EQ(lines.Next(crlf, 100, &line), Result::kLine) << n;
    EXPECT_EQ(line, text);
    EXPECT_EQ(lines.line_start(), n + 2);
    for (const char bare : {'\r', '\n'}) {
      const std::string input = text + bare + std::string(20, 'b') + "\r\n";
      CrlfLineScanner fresh;
      EXPECT_EQ(fresh.Next(input, 100, &line), Result::kBareCrOrLf) << n;
    }
  }
}

TEST(HttpSyntaxTest, ScannerStartsAtTheGivenOffset) {
  CrlfLineScanner lines;
  lines.Reset(3);
  std::string_view line;
  ASSERT_EQ(lines.Next("xyzab\r\n", 100, &line), Result::kLine);
  EXPECT_EQ(line, "ab");
}

}  // namespace
}  // namespace ringside::net
