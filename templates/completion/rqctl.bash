# rqctl completion for bash. Load it in ~/.bashrc:
#   source <(rqctl completion bash)
# or install it: rqctl completion bash > ~/.local/share/bash-completion/completions/rqctl
_rqctl() {
  local i w cur tok prefix directive line value
  local -a words=()
  # bash splits words at ':' and '=' (COMP_WORDBREAKS); rqctl wants them whole: schedule entries
  # (raffles:select-winners) and --flag=value.
  for ((i = 1; i <= COMP_CWORD; i++)); do
    w=${COMP_WORDS[i]}
    if ((${#words[@]} > 0)) && [[ $w =~ ^[:=]+$ || ${COMP_WORDS[i - 1]} =~ ^[:=]+$ ]]; then
      words[${#words[@]} - 1]+=$w
    else
      words+=("$w")
    fi
  done
  ((${#words[@]} == 0)) && words=("")
  cur=${words[${#words[@]} - 1]}
  tok=${COMP_WORDS[COMP_CWORD]}
  # What bash replaces is only the last token: the answer loses what comes before it.
  prefix=${cur%"$tok"}
  COMPREPLY=()
  directive=
  while IFS= read -r line; do
    if [[ -z $directive ]]; then
      directive=$line
      continue
    fi
    value=${line%%$'\t'*}
    COMPREPLY+=("${value#"$prefix"}")
  done < <("${COMP_WORDS[0]/#\~/$HOME}" __complete -- "${words[@]}" 2>/dev/null)
  if [[ $directive == files ]]; then
    compopt -o filenames 2>/dev/null
    while IFS= read -r line; do COMPREPLY+=("$line"); done < <(compgen -f -- "$tok")
  fi
  return 0
}
complete -F _rqctl rqctl
