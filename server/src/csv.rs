//! CSV records read as RFC 4180 says (by `csv-core`): quoted fields with commas, doubled quotes and
//! line breaks, CRLF or LF line ends, whatever the chunk boundaries of the bytes fed in. Shared by
//! the list import (`import.rs`) and PowerMTA's accounting files (`routes/powermta.rs`).

/// A reader of CSV records from bytes fed in chunks.
pub struct CsvRecords {
    reader: csv_core::Reader,
    output: Vec<u8>,
    ends: Vec<usize>,
    out_len: usize,
    ends_len: usize,
    /// Why the record being read will be rejected (too long, too many fields): it is read to its
    /// end and dropped.
    oversized: Option<String>,
    /// The last byte read: a record that ended on `\n` has had its line counted already.
    last: u8,
}

/// What reading a chunk of CSV gave.
pub enum CsvStep {
    /// The chunk is used up; more input is needed.
    NeedInput,
    /// A whole record (or why it is refused), and the line on which it ends.
    Record(Result<Vec<String>, String>, u64),
    /// The end of the input.
    End,
}

impl CsvRecords {
    /// A reader of records of at most `max_bytes` bytes and `max_fields` fields; with `comments`,
    /// a line starting with `#` is skipped.
    pub fn new(max_bytes: usize, max_fields: usize, comments: bool) -> Self {
        Self {
            reader: csv_core::ReaderBuilder::new().comment(comments.then_some(b'#')).build(),
            output: vec![0; max_bytes],
            ends: vec![0; max_fields],
            out_len: 0,
            ends_len: 0,
            oversized: None,
            last: 0,
        }
    }

    /// Reads from `input` (empty: the end of the stream) up to the next record; returns what it
    /// found and how many bytes it used.
    pub fn step(&mut self, mut input: &[u8]) -> (CsvStep, usize) {
        let mut used = 0;
        loop {
            let (result, read, written, ended) =
                self.reader.read_record(input, &mut self.output[self.out_len..], &mut self.ends[self.ends_len..]);
            if read > 0 {
                self.last = input[read - 1];
            }
            input = &input[read..];
            used += read;
            self.out_len += written;
            self.ends_len += ended;
            match result {
                csv_core::ReadRecordResult::InputEmpty => return (CsvStep::NeedInput, used),
                csv_core::ReadRecordResult::End => return (CsvStep::End, used),
                csv_core::ReadRecordResult::OutputFull => {
                    let limit = self.output.len();
                    self.oversized.get_or_insert_with(|| format!("longer than {limit} bytes (an unclosed quote?)"));
                    self.out_len = 0;
                }
                csv_core::ReadRecordResult::OutputEndsFull => {
                    let limit = self.ends.len();
                    self.oversized.get_or_insert_with(|| format!("made of more than {limit} fields"));
                    self.ends_len = 0;
                }
                csv_core::ReadRecordResult::Record => {
                    let line = self.reader.line() - u64::from(self.last == b'\n');
                    return (CsvStep::Record(self.take(), line), used);
                }
            }
        }
    }

    /// Every record of a whole text, with the line each ends on.
    pub fn all(mut self, text: &[u8]) -> Vec<(Result<Vec<String>, String>, u64)> {
        let mut found = Vec::new();
        for mut input in [text, &[]] {
            loop {
                let (step, used) = self.step(input);
                input = &input[used..];
                match step {
                    CsvStep::Record(record, line) => found.push((record, line)),
                    CsvStep::NeedInput | CsvStep::End => break,
                }
            }
        }
        found
    }

    fn take(&mut self) -> Result<Vec<String>, String> {
        let record = match self.oversized.take() {
            Some(why) => Err(why),
            None => {
                let mut start = 0;
                Ok(self.ends[..self.ends_len]
                    .iter()
                    .map(|&end| {
                        let field = String::from_utf8_lossy(&self.output[start..end]).into_owned();
                        start = end;
                        field
                    })
                    .collect())
            }
        };
        self.out_len = 0;
        self.ends_len = 0;
        record
    }
}
